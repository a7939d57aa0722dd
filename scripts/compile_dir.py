"""Quick partial compile while iterating on one folder of contracts/.

Usage: python scripts/compile_dir.py contracts/fund [contracts/test ...]

Writes the artifacts of those folders only, each into its set's folder
(ledger/artifacts, tests/artifacts or bench/artifacts; never the standard input,
never pruning). The committed artifacts must come from a full `cogov compile`.
"""

import sys
from pathlib import Path

from ledger import compiler

files = [p for d in sys.argv[1:] for p in sorted(Path(d).resolve().rglob("*.sol"))]
if not files:
    sys.exit("no .sol files in " + " ".join(sys.argv[1:]))
for artifact_set in compiler.SETS:
    mine = [p for p in files if compiler.set_of(p) is artifact_set]
    if mine:
        inp, arts = compiler.compile_all(print, only=mine, artifact_set=artifact_set)
        compiler.write_artifacts(inp, arts, out_dir=artifact_set.out_dir, partial=True)
        print("wrote", ", ".join(sorted(arts)), "to", artifact_set.out_dir)
