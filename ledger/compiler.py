"""Compile ``contracts/`` through py-solc-x's standard-JSON interface.

A native ``solc`` of the pinned version is used when one is on ``PATH``;
otherwise the pinned npm ``solc`` (solc-js) through ``scripts/solc-shim.js``,
since native binaries cannot be downloaded here. Both produce identical output
for the same version and input.

Three sets of contracts compile apart, each from its own standard-JSON input
into its own folder (:data:`SETS`): the product's (everything under
``contracts/`` but the two folders below) into ``ledger/artifacts/``, the only
ones the installed package ships; ``contracts/test/`` into ``tests/artifacts/``;
``contracts/bench/`` into ``bench/artifacts/``. Each folder holds one JSON file
per contract (ABI, bytecode, deployed bytecode, immutable references, metadata,
source hashes) and ``_standard_input.json``, the full standard-JSON input with
every source inlined, so that an installed ``ledger`` needs no Node.js at run
time and an auditor can recompile exactly what was deployed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import ArtifactMismatch, CompileError, ConfigError

SOLC_VERSION = "0.8.28"
EVM_VERSION = "paris"
OPTIMIZER_RUNS = 200
REMAPPINGS = ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"]

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
SHIM = REPO_ROOT / "scripts" / "solc-shim.js"
STANDARD_INPUT_FILE = "_standard_input.json"


@dataclass(frozen=True)
class ArtifactSet:
    """Contracts compiled together from one standard-JSON input into one folder."""

    name: str
    #: The folder whose ``.sol`` files are the set's own contracts.
    sources: Path
    out_dir: Path
    #: Folders under ``sources`` that belong to other sets.
    exclude: tuple[Path, ...] = ()

    def owns(self, path: Path) -> bool:
        path = path.resolve()
        return path.is_relative_to(self.sources) and not any(path.is_relative_to(x) for x in self.exclude)


TEST = ArtifactSet("test", CONTRACTS_DIR / "test", REPO_ROOT / "tests" / "artifacts")
BENCH = ArtifactSet("bench", CONTRACTS_DIR / "bench", REPO_ROOT / "bench" / "artifacts")
PRODUCT = ArtifactSet("product", CONTRACTS_DIR, ARTIFACTS_DIR, exclude=(TEST.sources, BENCH.sources))
#: Every set, the product's first; each ``.sol`` file under ``contracts/`` belongs to exactly one.
SETS = (PRODUCT, TEST, BENCH)

# Fields of an artifact that `compile --check` compares.
CHECKED_FIELDS = ("abi", "bytecode", "deployedBytecode", "metadata", "sourceHashes")


@dataclass(frozen=True)
class Compiler:
    """Where solc comes from."""

    binary: Path
    version: str
    native: bool


def settings() -> dict[str, Any]:
    """The fixed compiler settings, part of every standard-JSON input."""
    return {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "evmVersion": EVM_VERSION,
        "remappings": list(REMAPPINGS),
        "metadata": {"bytecodeHash": "ipfs"},
        "outputSelection": {
            "*": {
                "*": [
                    "abi",
                    "evm.bytecode.object",
                    "evm.bytecode.linkReferences",
                    "evm.deployedBytecode.object",
                    "evm.deployedBytecode.immutableReferences",
                    "evm.methodIdentifiers",
                    "metadata",
                    "devdoc",
                    "userdoc",
                ],
                "": ["ast"],
            }
        },
    }


def find_compiler() -> Compiler:
    """A native solc of the pinned version if installed, else the solc-js shim."""
    native = shutil.which("solc")
    if native:
        out = subprocess.run([native, "--version"], capture_output=True, text=True, check=False)
        match = re.search(r"Version: (\d+\.\d+\.\d+)", out.stdout)
        if match and match.group(1) == SOLC_VERSION:
            return Compiler(Path(native), SOLC_VERSION, native=True)
    node = shutil.which("node")
    if node is None:
        raise ConfigError("no native solc and no Node.js: cannot compile (install Node.js 20)")
    if not (REPO_ROOT / "node_modules" / "solc").is_dir():
        raise ConfigError("npm package solc is not installed: run `npm ci` in the repository")
    out = subprocess.run([str(SHIM), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"Version: (\d+\.\d+\.\d+)", out.stdout)
    if not match or match.group(1) != SOLC_VERSION:
        raise ConfigError(
            f"npm solc is {match.group(1) if match else 'unknown'}, "
            f"the pinned version is {SOLC_VERSION}: run `npm ci`"
        )
    return Compiler(SHIM, SOLC_VERSION, native=False)


def source_files(artifact_set: ArtifactSet = PRODUCT) -> list[Path]:
    """The set's own ``.sol`` files, sorted for determinism."""
    return sorted(p for p in artifact_set.sources.rglob("*.sol") if p.is_file() and artifact_set.owns(p))


def set_of(path: Path) -> ArtifactSet:
    """The set a ``.sol`` file under ``contracts/`` belongs to."""
    for artifact_set in SETS:
        if artifact_set.owns(path):
            return artifact_set
    raise CompileError(f"{path} is not under {CONTRACTS_DIR}")


def _source_key(path: Path) -> str:
    return path.resolve().relative_to(REPO_ROOT).as_posix()


def _resolve_import(importer: str, target: str) -> str:
    """Source unit name of ``target`` imported from ``importer`` (solc's rules + remappings)."""
    if target.startswith("./") or target.startswith("../"):
        base = Path(importer).parent
        parts: list[str] = []
        for part in (base / target).as_posix().split("/"):
            if part == "..":
                parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/".join(parts)
    # solc applies remappings to the import path to get the source unit name.
    for remap in REMAPPINGS:
        prefix, _, replacement = remap.partition("=")
        if target.startswith(prefix):
            return replacement + target[len(prefix) :]
    return target


def _read_unit(unit: str) -> str:
    full = REPO_ROOT / unit
    if not full.is_file():
        raise CompileError(f"import not found: {unit} (looked at {full})")
    return full.read_text(encoding="utf-8")


_IMPORT_RE = re.compile(r'^\s*import\s+(?:[^"\']*from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


def standard_input(files: list[Path] | None = None) -> dict[str, Any]:
    """The full standard-JSON input: ``files`` (the product's by default) and their import closure, inlined."""
    files = source_files() if files is None else files
    sources: dict[str, str] = {}
    pending = [_source_key(p) for p in files]
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        text = _read_unit(unit)
        sources[unit] = text
        for target in _IMPORT_RE.findall(text):
            pending.append(_resolve_import(unit, target))
    return {
        "language": "Solidity",
        "sources": {k: {"content": sources[k]} for k in sorted(sources)},
        "settings": settings(),
    }


def run_solc(input_json: dict[str, Any], compiler: Compiler | None = None) -> dict[str, Any]:
    """Run solc on a standard-JSON input and raise on errors."""
    import solcx  # imported late: only compiling needs it

    compiler = compiler or find_compiler()
    try:
        output: dict[str, Any] = solcx.compile_standard(
            input_json,
            solc_binary=compiler.binary,
            base_path=str(REPO_ROOT),
            allow_paths=[str(REPO_ROOT)],
        )
    except solcx.exceptions.SolcError as exc:  # errors are reported in the JSON too
        raise CompileError(_format_errors(getattr(exc, "stdout_data", "") or str(exc))) from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    return output


def _format_errors(stdout: str) -> str:
    try:
        data = json.loads(stdout)
    except (TypeError, ValueError):
        return str(stdout)[:2000]
    return "\n".join(e.get("formattedMessage", e["message"]) for e in data.get("errors", []))


def build_artifacts(
    input_json: dict[str, Any], output: dict[str, Any], compiler_version: str, own: list[Path] | None = None
) -> dict[str, dict[str, Any]]:
    """Artifacts for every contract defined in ``own`` (default: every file under ``contracts/``;
    never the imported libraries, nor another set's contracts a file imports)."""
    own_units = None if own is None else {_source_key(p) for p in own}
    artifacts: dict[str, dict[str, Any]] = {}
    source_hashes = {
        unit: "0x" + hashlib.sha256(src["content"].encode()).hexdigest()
        for unit, src in input_json["sources"].items()
    }
    for unit, contracts in sorted(output.get("contracts", {}).items()):
        if not unit.startswith("contracts/") or (own_units is not None and unit not in own_units):
            continue
        for name, data in sorted(contracts.items()):
            if name in artifacts:
                raise CompileError(f"two contracts named {name}: names must be unique")
            metadata = json.loads(data["metadata"])
            used = sorted(metadata["sources"].keys())
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "immutableReferences": data["evm"]["deployedBytecode"].get(
                    "immutableReferences", {}
                ),
                "linkReferences": data["evm"]["bytecode"].get("linkReferences", {}),
                "methodIdentifiers": data["evm"].get("methodIdentifiers", {}),
                "metadata": data["metadata"],
                "devdoc": data.get("devdoc", {}),
                "userdoc": data.get("userdoc", {}),
                "compiler": {"version": compiler_version, "settings": _public_settings()},
                "sourceHashes": {u: source_hashes[u] for u in used},
            }
    return artifacts


def _public_settings() -> dict[str, Any]:
    s = settings()
    s.pop("outputSelection")
    return s


def compile_all(
    progress: Callable[[str], None] | None = None,
    only: list[Path] | None = None,
    artifact_set: ArtifactSet = PRODUCT,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Compile every contract of ``artifact_set`` (or the files in ``only``); return (standard input, artifacts).

    Writes nothing. ``only`` is for quick iteration on one folder; committed
    artifacts always come from a full compile.
    """
    say = progress or (lambda _msg: None)
    say(f"collecting the {artifact_set.name} sources")
    compiler = find_compiler()
    files = source_files(artifact_set) if only is None else only
    input_json = standard_input(files)
    say(f"compiling {len(input_json['sources'])} source units with solc {compiler.version}"
        f" ({'native' if compiler.native else 'solc-js'})")
    output = run_solc(input_json, compiler)
    version = _long_version(output, input_json)
    say("building artifacts")
    return input_json, build_artifacts(input_json, output, version, own=files)


def compile_sets(
    progress: Callable[[str], None] | None = None,
) -> list[tuple[ArtifactSet, dict[str, Any], dict[str, dict[str, Any]]]]:
    """Compile every set (:data:`SETS`): (set, standard input, artifacts) each. Writes nothing.

    Raises :class:`CompileError` when two sets define a contract of the same name (one
    lookup serves them all: :func:`ledger.artifacts.load`)."""
    compiled = [(s, *compile_all(progress, artifact_set=s)) for s in SETS]
    seen: dict[str, str] = {}
    for artifact_set, _input, artifacts in compiled:
        for name in artifacts:
            if name in seen:
                raise CompileError(
                    f"two contracts named {name} ({seen[name]}, {artifact_set.name}): names must be unique"
                )
            seen[name] = artifact_set.name
    return compiled


def _long_version(output: dict[str, Any], input_json: dict[str, Any]) -> str:
    for contracts in output.get("contracts", {}).values():
        for data in contracts.values():
            return str(json.loads(data["metadata"])["compiler"]["version"])
    return SOLC_VERSION


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_artifacts(
    input_json: dict[str, Any],
    artifacts: dict[str, dict[str, Any]],
    out_dir: Path = ARTIFACTS_DIR,
    partial: bool = False,
) -> list[Path]:
    """Write artifacts, removing stale ones (unless ``partial``). Returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if not partial:
        keep = {f"{n}.json" for n in artifacts} | {STANDARD_INPUT_FILE}
        for stale in out_dir.glob("*.json"):
            if stale.name not in keep:
                stale.unlink()
        (out_dir / STANDARD_INPUT_FILE).write_text(_dump(input_json), encoding="utf-8")
        written.append(out_dir / STANDARD_INPUT_FILE)
    for name, art in artifacts.items():
        path = out_dir / f"{name}.json"
        path.write_text(_dump(art), encoding="utf-8")
        written.append(path)
    return written


def check_artifacts(
    artifacts: dict[str, dict[str, Any]], input_json: dict[str, Any], out_dir: Path = ARTIFACTS_DIR
) -> None:
    """Raise :class:`ArtifactMismatch` naming the first contract whose committed artifact differs."""
    committed = {p.stem for p in out_dir.glob("*.json") if p.name != STANDARD_INPUT_FILE}
    for name in sorted(committed - artifacts.keys()):
        raise ArtifactMismatch(name, "no such contract in contracts/ any more")
    for name in sorted(artifacts):
        path = out_dir / f"{name}.json"
        if not path.is_file():
            raise ArtifactMismatch(name, "artifact missing")
        old = json.loads(path.read_text(encoding="utf-8"))
        for field in CHECKED_FIELDS:
            if old.get(field) != artifacts[name][field]:
                raise ArtifactMismatch(name, field)
    std = out_dir / STANDARD_INPUT_FILE
    if not std.is_file() or json.loads(std.read_text(encoding="utf-8")) != input_json:
        raise ArtifactMismatch(STANDARD_INPUT_FILE, "standard-JSON input")
