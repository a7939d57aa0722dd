"""`cogov members` and `cogov council` against a real Ganache."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cogov import app
from tests.conftest import Deployment

pytestmark = pytest.mark.ganache


def _env(d: Deployment) -> dict[str, str]:
    return {
        "COGOV_RPC_URLS": d.ganache.config.url,
        "COGOV_MANIFEST_PATH": str(d.manifest_path),
        "COGOV_KEYSTORE_DIR": str(d.keystore.directory),
    }


def _run(d: Deployment, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=_env(d))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_council_proposal_lifecycle_through_the_cli(deployment: Deployment) -> None:
    out = _run(deployment, "council", "propose", "set-proposal-lifetime", "86400", "--key", "c1")
    pid = int(out.split("proposal ")[1].split()[0])
    listed = json.loads(_run(deployment, "council", "list", "--json", "--state", "pending"))
    assert any(p["id"] == pid and p["kind"] == "set_proposal_lifetime" and p["args"] == [86400] for p in listed)
    assert "2 of 2 approvals, approved" in _run(deployment, "council", "approve", str(pid), "--key", "c2")
    _run(deployment, "council", "execute", str(pid), "--key", "c1")
    done = json.loads(_run(deployment, "council", "list", "--json", "--state", "executed"))
    assert any(p["id"] == pid for p in done)
    # executing twice is refused by the contract, with the custom error named
    again = CliRunner().invoke(app, ["council", "execute", str(pid), "--key", "c1"], env=_env(deployment))
    assert again.exit_code != 0
    assert "RegistryProposalNotOpen" in str(again.exception)


def test_members_list_and_show(deployment: Deployment) -> None:
    members = json.loads(_run(deployment, "members", "list", "--json"))
    assert {"街道办", "民政局", "区数据局"} <= {m["name"] for m in members}
    council = json.loads(_run(deployment, "members", "list", "--json", "--role", "council"))
    assert {m["id"] for m in council} == {1, 2, 3}
    by_account = json.loads(_run(deployment, "members", "show", deployment.signers["c2"].address))
    assert by_account["name"] == "民政局" and "council" in by_account["roles"]
    assert json.loads(_run(deployment, "members", "show", "3"))["roles"] == ["council", "data_governance"]


def test_a_non_council_key_is_refused(deployment: Deployment) -> None:
    result = CliRunner().invoke(
        app, ["council", "propose", "set-threshold", "1", "--key", "dept_a"], env=_env(deployment)
    )
    assert result.exit_code != 0
    assert "RegistryNotCouncil" in str(result.exception)
