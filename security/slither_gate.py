"""Run Slither on contracts/ and fail on any High or Medium finding that is not triaged.

Usage (from the repository root, with the Slither virtualenv's Python):

    .venv-slither/bin/python security/slither_gate.py [--strict]

What it does:

1. Writes a solc standard-JSON input for every ``contracts/**/*.sol`` except the test-only
   ``contracts/test/`` (same settings as the committed artifacts: paris, optimizer 200).
   The shim (``scripts/solc-shim.js``) answers only ``--version`` and ``--standard-json``, so
   Slither compiles through crytic-compile's ``solc-json`` platform (``slither.config.json``).
2. Runs Slither with ``slither.config.json`` and reads its JSON report.
3. Drops findings whose every element lies in ``node_modules/`` (OpenZeppelin's own code;
   the standard-JSON platform marks nothing as a dependency, so this is done here, and only
   when *all* elements are in a dependency, so a finding in our code that touches OZ stays).
4. Matches the rest against ``security/slither-accepted.json`` by detector, the qualified
   name of the finding's first element and an optional text fragment of its description,
   never by line number, so accepted findings stay accepted while the files are edited.

Exit status: 1 if any High or Medium finding is not accepted (``--strict``: any finding),
or if Slither itself failed; otherwise 0. Accepted entries that matched nothing are listed
as stale (they do not fail the run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / ".cogov" / "slither"
ACCEPTED = ROOT / "security" / "slither-accepted.json"
CONFIG = ROOT / "slither.config.json"
EXCLUDED_DIRS = ("contracts/test/",)
FAILING_IMPACTS = ("High", "Medium")
_LOCATION = re.compile(r" \([^()]*#\d+(?:-\d+)?\)")


def standard_json_input() -> dict:
    sources = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "contracts").rglob("*.sol")
        if not p.relative_to(ROOT).as_posix().startswith(EXCLUDED_DIRS)
    )
    return {
        "language": "Solidity",
        "sources": {s: {"urls": [s]} for s in sources},
        "settings": {
            "evmVersion": "paris",
            "optimizer": {"enabled": True, "runs": 200},
            "remappings": ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"],
        },
    }


def run_slither(slither: str) -> dict:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    target = OUT_DIR / "input.json"
    target.write_text(json.dumps(standard_json_input(), indent=1))
    report = OUT_DIR / "results.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ)
    # crytic-compile sees foundry.toml and asks `forge config --json` for its solc settings.
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    cmd = [
        slither,
        str(target.relative_to(ROOT)),
        "--config-file",
        str(CONFIG.relative_to(ROOT)),
        "--json",
        str(report.relative_to(ROOT)),
        "--disable-color",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (OUT_DIR / "slither.log").write_text(proc.stdout)
    if not report.exists():
        sys.stdout.write(proc.stdout)
        raise SystemExit(f"slither produced no report (exit {proc.returncode}); see above")
    data = json.loads(report.read_text())
    if not data.get("success"):
        sys.stdout.write(proc.stdout)
        raise SystemExit(f"slither failed: {data.get('error')}")
    return data


def qualified_name(element: dict) -> str:
    """Contract.function (a function or a node in it), Contract.variable, Contract.function.local."""
    names = [] if element.get("type") == "node" else [str(element.get("name", ""))]
    parent = element.get("type_specific_fields", {}).get("parent")
    while parent:
        names.append(str(parent.get("name", "")))
        parent = parent.get("type_specific_fields", {}).get("parent")
    return ".".join(reversed(names))


def is_dependency_only(finding: dict) -> bool:
    files = [e["source_mapping"].get("filename_relative", "") for e in finding["elements"] if "source_mapping" in e]
    return bool(files) and all(f.startswith("node_modules/") for f in files)


def summary(finding: dict) -> str:
    first = _LOCATION.sub("", finding["description"]).strip().splitlines()[0]
    return first


def matches(entry: dict, finding: dict) -> bool:
    if entry["check"] != finding["check"]:
        return False
    if not finding["elements"] or qualified_name(finding["elements"][0]) != entry["where"]:
        return False
    fragment = entry.get("match")
    return fragment is None or fragment in _LOCATION.sub("", finding["description"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slither", default=str(ROOT / ".venv-slither" / "bin" / "slither"))
    parser.add_argument("--strict", action="store_true", help="fail on any untriaged finding")
    parser.add_argument("--report", type=Path, help="triage this Slither JSON report instead of running Slither")
    args = parser.parse_args()

    data = json.loads(args.report.read_text()) if args.report else run_slither(args.slither)
    accepted = json.loads(ACCEPTED.read_text())["accepted"]
    used = [0] * len(accepted)
    failing: list[dict] = []
    untriaged: list[dict] = []
    n_accepted = n_dependency = 0
    for finding in data["results"].get("detectors", []):
        if is_dependency_only(finding):
            n_dependency += 1
            continue
        hit = next((i for i, e in enumerate(accepted) if matches(e, finding)), None)
        if hit is not None:
            used[hit] += 1
            n_accepted += 1
        elif finding["impact"] in FAILING_IMPACTS or args.strict:
            failing.append(finding)
        else:
            untriaged.append(finding)

    out = sys.stdout
    out.write(
        f"slither: {n_accepted} accepted (security/slither-triage.md), "
        f"{n_dependency} in OpenZeppelin only, {len(untriaged)} untriaged low/informational, "
        f"{len(failing)} failing\n"
    )
    for f in untriaged:
        out.write(f"  untriaged {f['impact']:<13} {f['check']}: {summary(f)}\n")
    for i, e in enumerate(accepted):
        if used[i] == 0:
            out.write(f"  stale accepted entry (matched nothing): {e['check']} {e['where']} {e.get('match', '')}\n")
    for f in failing:
        out.write(f"  FAIL {f['impact']:<6} {f['check']}: {summary(f)}\n")
        out.write("".join(f"      {line}\n" for line in _LOCATION.sub("", f["description"]).splitlines()[1:6]))
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
