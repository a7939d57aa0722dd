"""Lists of the data domain are answered from the event index alone: filtering grants or
requests by their state costs no chain call per row (the data reducer over indexed events),
and what they say equals the contract's own views."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient

from api.main import create_app
from api.testing import api_for
from ledger.data import Classification, DataSharing, Terms
from ledger.testing import Deployment
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache

DAY = 24 * 3600


def test_grant_and_request_lists_by_state_make_no_chain_call_per_row(
    deployment: Deployment, tmp_path: Path, databases: dict[str, str]
) -> None:
    led = deployment.ledger()
    ds = DataSharing(led)
    s = deployment.signers
    tag = secrets.token_hex(4)
    did, _ = ds.register(
        s["dept_a"], f"lists {tag}", Classification.INTERNAL, keccak(text=tag), keccak(text="s"), keccak(text=tag * 2),
        2,
    )
    grants = []
    for _ in range(6):
        rid, _ = ds.request_access(s["c1"], did, Terms(1, keccak(text="p"), 0b01, 30 * DAY))
        grants.append(int(ds.approve_as_owner(s["dept_a"], rid).event("GrantCreated").args["grantId"]))
    ds.freeze_grant(s["c3"], grants[0])
    ds.revoke(s["dept_a"], grants[1])
    ds.request_access(s["c1"], did, Terms(1, keccak(text="p"), 0b01, DAY))  # pending

    assert led.manifest is not None
    data_address = led.manifest.address("DataSharing")  # calls to it would be per-row reads; the key check
    # reads the registry (cached for a while), which is not the list's
    with RpcProxy(deployment.ganache.config.url) as proxy:
        api = api_for(deployment, tmp_path, "lists", rpc_urls=[proxy.url], **databases)
        with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
            h = api.auth("c1")

            def counted(path: str, **params: object) -> tuple[dict[str, object], list[str]]:
                before = len(proxy.calls)
                r = client.get(path, params=params, headers=h)
                assert r.status_code == 200, r.text
                return r.json(), [m for m, p in proxy.calls[before:] if m != "eth_call" or p[0]["to"] == data_address]

            counted("/api/v1/grants", dataset_id=did)  # warm: the index caught up, the key checked
            for want, expected in (
                ("active", grants[2:]),
                ("frozen", grants[:1]),
                ("revoked", grants[1:2]),
            ):
                body, calls = counted("/api/v1/grants", dataset_id=did, state=want)
                assert sorted(g["id"] for g in body["data"]) == expected, want  # type: ignore[index, attr-defined]
                assert "eth_call" not in calls, calls
                for g in body["data"]:  # type: ignore[attr-defined]
                    view = ds.grant(g["id"])
                    assert (g["state"], g["expires_at"], g["accesses"]) == (
                        view.state.name.lower(),
                        view.expires_at,
                        view.accesses,
                    )
            body, calls = counted("/api/v1/access-requests", dataset_id=did, state="pending")
            assert body["count"] == 1 and "eth_call" not in calls, calls
            assert (
                body["data"][0]
                == client.get(  # type: ignore[index]
                    f"/api/v1/access-requests/{body['data'][0]['id']}",
                    headers=h,  # type: ignore[index]
                ).json()
            )
            # the page is kept per index version: asked again it is the same answer; a new event
            # (another revocation) changes it at once
            again, _ = counted("/api/v1/grants", dataset_id=did, state="active")
            assert sorted(g["id"] for g in again["data"]) == grants[2:]  # type: ignore[index, attr-defined]
            ds.revoke(s["dept_a"], grants[2])
            for want, expected in (("active", grants[3:]), ("revoked", grants[1:3])):
                body, _ = counted("/api/v1/grants", dataset_id=did, state=want)
                assert sorted(g["id"] for g in body["data"]) == expected, want  # type: ignore[index, attr-defined]
