"""Quick partial compile while iterating on one folder of contracts/.

Usage: python scripts/compile_dir.py contracts/fund [contracts/test ...]

Writes the artifacts of those folders only (never the standard input, never
pruning). The committed artifacts must come from a full `cogov compile`.
"""

import sys
from pathlib import Path

from ledger import compiler

files = [p for d in sys.argv[1:] for p in sorted(Path(d).resolve().rglob("*.sol"))]
if not files:
    sys.exit("no .sol files in " + " ".join(sys.argv[1:]))
inp, arts = compiler.compile_all(print, only=files)
compiler.write_artifacts(inp, arts, partial=True)
print("wrote", ", ".join(sorted(arts)))
