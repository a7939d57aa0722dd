"""Read the committed compiler artifacts (no Node.js or solc needed)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


@cache
def load(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (ABI, bytecode, deployed bytecode, ...)."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"no artifact for contract {name}: run `cogov compile`")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def abi(name: str) -> list[dict[str, Any]]:
    return list(load(name)["abi"])


def names() -> list[str]:
    return sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json") if not p.name.startswith("_"))


def standard_input() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ARTIFACTS_DIR / "_standard_input.json").read_text("utf-8"))
    return data
