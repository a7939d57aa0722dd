"""Read the committed compiler artifacts (no Node.js or solc needed).

The product's contracts ship in ``ledger/artifacts/``, and that is the only folder
looked in unless a caller adds another with :func:`add_folder`: the test suite adds
``tests/artifacts/`` and the benchmarks ``bench/artifacts/`` (contracts that must
never be deployed by the product), each at start-up, before anything loads an
artifact.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
_extra: list[Path] = []


def add_folder(folder: Path) -> None:
    """Also look up artifacts in ``folder`` (after the product's own, which always win)."""
    folder = folder.resolve()
    if folder != ARTIFACTS_DIR and folder not in _extra:
        _extra.append(folder)
        load.cache_clear()


def folders() -> tuple[Path, ...]:
    """The folders looked in, the product's first."""
    return (ARTIFACTS_DIR, *_extra)


@cache
def load(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (ABI, bytecode, deployed bytecode, ...)."""
    for folder in folders():
        path = folder / f"{name}.json"
        if path.is_file():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
    raise ConfigError(f"no artifact for contract {name}: run `cogov compile`")


def abi(name: str) -> list[dict[str, Any]]:
    return list(load(name)["abi"])


def names() -> list[str]:
    return sorted({p.stem for folder in folders() for p in folder.glob("*.json") if not p.name.startswith("_")})


def standard_input() -> dict[str, Any]:
    """The product's full standard-JSON input (what its deployed code was compiled from)."""
    data: dict[str, Any] = json.loads((ARTIFACTS_DIR / "_standard_input.json").read_text("utf-8"))
    return data
