"""security/THREAT_MODEL.md stays honest: every test it names exists, and every file it names
as the place a guarantee is enforced exists.

A guarantee whose test was renamed or whose module moved would otherwise go on claiming a
proof that no longer runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "security" / "THREAT_MODEL.md"

ROW = re.compile(r"^\| ([A-Z]\d+) \|(.*)\|(.*)\|(.*)\|\s*$")
CODE = re.compile(r"`([^`]+)`")


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in MODEL.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), m.group(3), m.group(4)))
    return rows


def _python_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
    return names


def _forge_names() -> set[str]:
    names: set[str] = set()
    for sol in (ROOT / "forge").rglob("*.sol"):
        text = sol.read_text(encoding="utf-8")
        for contract in re.findall(r"contract\s+(\w+)", text):
            for fn in re.findall(r"function\s+(\w+)", text):
                names.add(f"{contract}.{fn}")
    return names


def _test_refs(cell: str) -> list[str]:
    """``file::test`` references of a cell, with ``::test`` continuing the last file named."""
    refs: list[str] = []
    current: str | None = None
    for code in CODE.findall(cell):
        code = code.split("[", 1)[0]
        if "::" not in code:
            continue
        file, _, name = code.partition("::")
        if file:
            current = file
        assert current is not None, f"{code!r} continues no file"
        refs.append(f"{current}::{name}")
    return refs


def test_the_model_has_guarantees() -> None:
    assert len(_rows()) >= 40


@pytest.mark.parametrize("gid,where,tests", _rows(), ids=[r[0] for r in _rows()])
def test_every_named_test_and_file_exists(gid: str, where: str, tests: str) -> None:
    refs = _test_refs(tests)
    forge = re.findall(r"forge `?(\w+\.\w+)", tests)
    assert refs or forge, f"{gid} names no test"
    missing = []
    for ref in refs:
        file, name = ref.split("::")
        path = ROOT / "tests" / file
        if not path.is_file() or name not in _python_tests(path):
            missing.append(ref)
    known_forge = _forge_names() if forge else set()
    missing += [f for f in forge if f not in known_forge]
    for code in CODE.findall(where):
        is_path = re.fullmatch(r"[\w./-]+\.(py|sol|md|js|ts|html)", code) or code.endswith("/")
        if is_path and not (ROOT / code).exists():
            missing.append(code)
    assert not missing, f"{gid} names what does not exist: {missing}"
