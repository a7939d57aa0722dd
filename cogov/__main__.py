from cogov import main

main()
