"""Compile determinism and the committed-artifact check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import compiler
from ledger.errors import ArtifactMismatch


@pytest.fixture(scope="module")
def fresh() -> tuple[dict, dict]:  # type: ignore[type-arg]
    return compiler.compile_all()


def test_compile_is_deterministic(fresh: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    again_input, again = compiler.compile_all()
    assert again_input == fresh[0]
    assert {n: a["deployedBytecode"] for n, a in again.items()} == {
        n: a["deployedBytecode"] for n, a in fresh[1].items()
    }
    assert {n: a["metadata"] for n, a in again.items()} == {n: a["metadata"] for n, a in fresh[1].items()}


def test_committed_artifacts_match_a_fresh_compile(fresh: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    compiler.check_artifacts(fresh[1], fresh[0])


def test_fixed_settings(fresh: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    settings = fresh[0]["settings"]
    assert settings["evmVersion"] == "paris"
    assert settings["optimizer"] == {"enabled": True, "runs": 200}
    art = fresh[1]["MembershipRegistry"]
    assert art["compiler"]["version"].startswith("0.8.28+commit.7893614a")
    assert json.loads(art["metadata"])["settings"]["evmVersion"] == "paris"


def test_check_names_the_changed_contract(fresh: tuple[dict, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    input_json, artifacts = fresh
    compiler.write_artifacts(input_json, artifacts, out_dir=tmp_path)
    compiler.check_artifacts(artifacts, input_json, out_dir=tmp_path)
    victim = tmp_path / "MembershipRegistry.json"
    data = json.loads(victim.read_text())
    data["deployedBytecode"] = data["deployedBytecode"][:-2] + "00"
    victim.write_text(json.dumps(data))
    with pytest.raises(ArtifactMismatch, match="MembershipRegistry"):
        compiler.check_artifacts(artifacts, input_json, out_dir=tmp_path)


def test_standard_input_inlines_every_source(fresh: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    sources = fresh[0]["sources"]
    assert all("content" in s for s in sources.values())
    assert "contracts/membership/MembershipRegistry.sol" in sources
