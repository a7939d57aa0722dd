"""Members and council proposals are listed from the event index alone (the membership reducer):
no registry read per row, and each row equals the registry's own view."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.testing import api_for
from ledger.testing import Deployment
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache


def test_member_and_proposal_lists_read_no_registry_view_per_row(
    deployment: Deployment, tmp_path: Path, databases: dict[str, str]
) -> None:
    led = deployment.ledger()
    assert led.manifest is not None
    registry = led.manifest.address("MembershipRegistry").lower()
    with RpcProxy(deployment.ganache.config.url) as proxy:
        api = api_for(deployment, tmp_path, "mlists", rpc_urls=[proxy.url], **databases)
        with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
            h = api.auth("c1")
            assert client.get("/api/v1/members", headers=h).status_code == 200  # warm: the key checked
            for path, params in (
                ("/api/v1/members", {}),
                ("/api/v1/members", {"role": "council"}),
                ("/api/v1/council/proposals", {}),
            ):
                before = len(proxy.calls)
                r = client.get(path, params=params, headers=h)
                assert r.status_code == 200, r.text
                views = [p[0] for m, p in proxy.calls[before:] if m == "eth_call" and p[0]["to"].lower() == registry]
                assert len(views) <= 1, views  # at most the key's account check, never one per row
                for row in r.json()["data"]:
                    one = client.get(f"{path}/{row['id']}", headers=h).json()
                    assert row == one
