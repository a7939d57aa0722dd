"""Issue 14, data sharing over the API: aliasing (1), renewals (2), refusals (3), tampering (19).

Real Ganache, the app in-process (TestClient) or over real HTTP (uvicorn) where the order of the
answer and the block is the point.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient

from api.main import create_app
from ledger.data import Classification, DataSharing, RefusalReason
from ledger.errors import AccessDenied, ContractReverted
from ledger.gateway import ALARM, Gateway, describe
from tests.api.conftest import Api, LiveServer
from tests.api.test_data_support import register_data_key, settle_refusals, synthetic_csv, unique, upload
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


@pytest.fixture(scope="module", autouse=True)
def keys(deployment: Deployment) -> dict[str, Any]:
    return {label: register_data_key(deployment, label) for label in ("c1", "dept_b")}


def _events(deployment: Deployment, name: str, dataset_id: int, since_block: int) -> list[Any]:
    led = deployment.ledger()
    assert led.manifest is not None
    logs = led.rpc(
        "eth_getLogs",
        [{"address": led.manifest.address("DataSharing"), "fromBlock": hex(since_block + 1), "toBlock": "latest"}],
    )
    return [e for e in led.decode_logs(logs) if e.name == name and int(e.args["datasetId"]) == dataset_id]


def _gateway(client: TestClient) -> Gateway:
    gw = client.app.state.service._data_gateway  # type: ignore[attr-defined]
    assert isinstance(gw, Gateway)
    return gw


def _request_and_approve(
    client: TestClient, api: Api, did: int, grantee: str, owner: str, fields: list[str], schema: Any = None
) -> int:
    """``schema``: the dataset's table schema, where this service holds no usable copy of it."""
    r = client.post(
        "/api/v1/access-requests",
        headers=api.auth(grantee),
        json={"dataset_id": did, "purpose_code": 1, "purpose": "casework", "fields": fields, "duration": 3600,
              "table_schema": schema},
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/access-requests/{r.json()['request']['id']}/approve", headers=api.auth(owner))
    assert r.status_code == 200 and r.json()["grant"] is not None, r.text
    return int(r.json()["grant"]["id"])


def _alarms(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.CRITICAL and ALARM in r.getMessage()]


# ------------------------------------------------------------------ 1. aliasing


def test_department_cannot_alias_another_departments_secret_dataset(
    client: TestClient, api: Api, deployment: Deployment
) -> None:
    """The attack of issue 14 item 1: 城管 (dept_b) registers a public dataset with 卫健委's (dept_a)
    secret dataset's content and schema hashes, to approve a request for it itself. The chain refuses
    it, so there is no dataset under which a grantee could be served 卫健委's plaintext."""
    secret = synthetic_csv(5)
    r = upload(client, api.auth("dept_a"), unique("secret roster"), "secret", secret, "roster.csv")
    assert r.status_code == 201, r.text
    victim = r.json()["dataset"]
    led = deployment.ledger()
    data = DataSharing(led)
    before = (data.dataset_count(), led.block_number())
    with pytest.raises(ContractReverted) as exc:  # the pre-flight names it: nothing is sent
        data.register(
            deployment.signers["dept_b"],
            unique("public copy"),
            Classification.PUBLIC,
            keccak(text="any metadata"),
            bytes.fromhex(victim["schema_hash"][2:]),
            bytes.fromhex(victim["content_hash"][2:]),
            len(victim["fields"]),
        )
    assert exc.value.error_name == "DataContentHashTaken"
    assert exc.value.error_args == {
        "contentHash": bytes.fromhex(victim["content_hash"][2:]),
        "ownerId": MEMBER_IDS["dept_a"],
    }
    # The same through the API (had 城管 a copy of the bytes): 409 with the custom error.
    r = upload(client, api.auth("dept_b"), unique("public copy"), "public", secret, "roster.csv")
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "DataContentHashTaken" and r.json()["args"]["ownerId"] == MEMBER_IDS["dept_a"]
    # Nor can 城管 point a dataset of its own at that content.
    own = upload(client, api.auth("dept_b"), unique("bins"), "public", synthetic_csv(2), "bins.csv")
    assert own.status_code == 201, own.text
    with pytest.raises(ContractReverted) as exc:
        data.update_version(deployment.signers["dept_b"], own.json()["dataset"]["id"], keccak(secret))
    assert exc.value.error_name == "DataContentHashTaken"
    assert data.dataset_count() == before[0] + 1 and led.block_number() == before[1] + 1  # only its own upload
    assert data.dataset(victim["id"]).refusals == 0 and not _events(deployment, "AccessRecorded", victim["id"], 0)


def test_gateway_serves_no_content_its_owner_did_not_upload_for_that_dataset(
    client: TestClient, api: Api, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway's own binding, for chains that let a dataset name content its owner did not upload
    for it: 城管 registers a public dataset naming a file's hash first (hashes only) and 卫健委's upload
    of that file is refused; and 卫健委 names its own secret content in a second, public dataset
    without uploading it. A grantee of either gets an alarm (500), not the plaintext."""
    caplog.set_level(logging.INFO)
    led = deployment.ledger()
    data = DataSharing(led)
    fields = ["age", "district"]
    # (a) 城管 takes the hash first; 卫健委's upload of the file is refused, its copy stays unbound.
    file = synthetic_csv(4)
    described = describe(file, "csv")
    squat, _ = data.register(
        deployment.signers["dept_b"], unique("squat"), Classification.PUBLIC, keccak(b"m"), described.schema_hash,
        keccak(file), 5,
    )
    r = upload(client, api.auth("dept_a"), unique("roster"), "secret", file, "roster.csv")
    assert r.status_code == 409 and r.json()["error"] == "DataContentHashTaken", r.text
    assert r.json()["args"]["ownerId"] == MEMBER_IDS["dept_b"]
    # (b) 卫健委's secret dataset, and a public one of its own naming the same content.
    secret = synthetic_csv(3)
    r = upload(client, api.auth("dept_a"), unique("roster"), "secret", secret, "roster.csv")
    assert r.status_code == 201, r.text
    ds = r.json()["dataset"]
    alias, _ = data.register(
        deployment.signers["dept_a"],
        unique("public alias"),
        Classification.PUBLIC,
        keccak(b"m"),
        bytes.fromhex(ds["schema_hash"][2:]),
        keccak(secret),
        len(ds["fields"]),
    )
    for did, owner, schema in ((squat, "dept_b", described.table_schema), (alias, "dept_a", None)):
        _request_and_approve(client, api, did, "c1", owner, fields, schema)
        start = led.block_number()
        caplog.clear()
        r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": ",".join(fields)}, headers=api.auth("c1"))
        assert r.status_code == 500, r.text
        body = r.json()
        assert body["code"] == "gateway-integrity" and body["type"] == "urn:cogov:problem:gateway-integrity"
        assert "envelope" not in body and "虚构" not in r.text
        assert not _events(deployment, "AccessRecorded", did, start)  # nothing served, nothing recorded
        [alarm] = _alarms(caplog)
        content = data.dataset(did).content_hash.hex()
        assert f"dataset={did}" in alarm.getMessage() and content in alarm.getMessage()
    r = client.get(f"/api/v1/datasets/{squat}/data", headers=api.auth("c1"))  # no fields: the grant found for c1
    assert r.status_code == 500 and r.json()["code"] == "gateway-integrity", r.text
    assert "虚构" not in caplog.text


# ------------------------------------------------------------------ 2. renewals


def test_sensitive_renewal_waits_for_data_governance_over_http(
    client: TestClient, api: Api, deployment: Deployment
) -> None:
    r = upload(client, api.auth("c2"), unique("elderly"), "sensitive", synthetic_csv(3), "elderly.csv")
    assert r.status_code == 201, r.text
    did = r.json()["dataset"]["id"]
    r = client.post(
        "/api/v1/access-requests",
        headers=api.auth("c1"),
        json={"dataset_id": did, "purpose_code": 1, "purpose": "visits", "fields": ["age"], "duration": 3600},
    )
    rid = r.json()["request"]["id"]
    assert client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c2")).status_code == 200
    grant = client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c3")).json()["grant"]
    gid, expires = grant["id"], grant["expires_at"]

    r = client.post(f"/api/v1/grants/{gid}/renew", headers=api.auth("c2"), json={"extension": 600})
    assert r.status_code == 200, r.text
    assert r.json()["grant"]["expires_at"] == expires  # the owner alone extends nothing
    assert r.json()["renewal"]["extension"] == 600
    assert r.json()["renewal"]["requested_by"] == deployment.signers["c2"].address
    for label in ("c1", "c2", "dept_a"):  # the grantee, the owner, a department: not data governance
        r = client.post(f"/api/v1/grants/{gid}/renew/approve", headers=api.auth(label), json={"extension": 600})
        assert r.status_code == 403, (label, r.text)
    r = client.post(f"/api/v1/grants/{gid}/renew/approve", headers=api.auth("c3"), json={"extension": 601})
    assert r.status_code == 409 and r.json()["error"] == "DataRenewalMismatch", r.text
    r = client.post(f"/api/v1/grants/{gid}/renew/approve", headers=api.auth("c3"), json={"extension": 600})
    assert r.status_code == 200, r.text
    assert r.json()["grant"]["expires_at"] == expires + 600 and r.json()["renewal"] is None
    # nothing renews a frozen grant
    assert client.post(f"/api/v1/grants/{gid}/freeze", headers=api.auth("c3")).status_code == 200
    r = client.post(f"/api/v1/grants/{gid}/renew", headers=api.auth("c2"), json={"extension": 60})
    assert r.status_code == 409 and r.json()["error"] == "DataGrantNotRenewable", r.text
    assert r.json()["args"] == {"grantId": gid, "state": 3}


# ------------------------------------------------------------------ 3. refusals


@pytest.fixture(scope="module")
def roster(client: TestClient, api: Api) -> dict[str, Any]:
    """A dataset of 卫健委 (dept_a) shared with 街道办 (c1); 城管 (dept_b) holds no grant on it."""
    r = upload(client, api.auth("dept_a"), unique("roster"), "internal", synthetic_csv(3), "roster.csv")
    assert r.status_code == 201, r.text
    did = r.json()["dataset"]["id"]
    return {"dataset_id": did, "grant_id": _request_and_approve(client, api, did, "c1", "dept_a", ["age"])}


def test_a_non_member_makes_the_owner_sign_nothing(
    client: TestClient, api: Api, deployment: Deployment, roster: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    did, gid = roster["dataset_id"], roster["grant_id"]
    led = deployment.ledger()
    start = led.block_number()
    for params in ({"fields": "age"}, {"fields": "age", "grant_id": gid}):
        # the key's account is no member's: refused (at the gateway, or before it by the key check)
        r = client.get(f"/api/v1/datasets/{did}/data", params=params, headers=api.auth("outsider"))
        assert r.status_code in (401, 403), r.text
    settle_refusals(client.app)
    assert led.block_number() == start and not _events(deployment, "AccessRefused", did, start)
    # the gateway itself, for any account that is not an active account of a member
    stranger = "0x" + "5a" * 20
    for grant in (None, gid):
        with pytest.raises(AccessDenied) as exc:
            _gateway(client).serve(did, stranger, ["age"], grant)
        assert exc.value.context["refusal_record"] == "none"
    settle_refusals(client.app)
    assert led.block_number() == start and _gateway(client).refusals.pending() == (0, 0)
    assert any("not an active account of a member" in r.getMessage() for r in caplog.records)


def test_refusals_of_one_member_are_bounded(api: Api, deployment: Deployment, roster: dict[str, Any]) -> None:
    """50 refused fetches by 城管: one owner transaction in the window, the other 49 counted into the
    next record (sent once the window has passed; here by the flush at shutdown)."""
    did = roster["dataset_id"]
    led = deployment.ledger()
    before = DataSharing(led).dataset(did).refusals
    start = led.block_number()
    settings = api.settings.model_copy(update={"gateway_refusal_window": 3600.0})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for _ in range(50):
            r = c.get(f"/api/v1/datasets/{did}/data", params={"fields": "age"}, headers=api.auth("dept_b"))
            assert r.status_code == 403 and "NoGrant" in r.json()["detail"], r.text
        settle_refusals(c.app, flush=False)  # what was queued; the counted wait for their window
        evs = _events(deployment, "AccessRefused", did, start)
        assert len(evs) == 1 and led.block_number() == start + 1  # one owner transaction
        assert (int(evs[0].args["requesterId"]), int(evs[0].args["attempts"])) == (MEMBER_IDS["dept_b"], 1)
        assert _gateway(c).refusals.pending() == (0, 49)
    # leaving the app closed the gateway: what it counted went out in one more record
    evs = _events(deployment, "AccessRefused", did, start)
    assert [int(e.args["attempts"]) for e in evs] == [1, 49]
    assert all(int(e.args["reason"]) == RefusalReason.NO_GRANT for e in evs)
    assert DataSharing(led).dataset(did).refusals == before + 50
    assert led.block_number() == start + 2


def test_refusal_is_answered_before_its_record_is_mined(
    live_server: LiveServer, api: Api, deployment: Deployment, roster: dict[str, Any]
) -> None:
    """With the chain mining nothing, a member's refused fetch is still answered at once (403); its
    record is mined afterwards. (Before, the request waited for the owner's transaction's block.)"""
    did = roster["dataset_id"]
    led = deployment.ledger()
    start = led.block_number()
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        led.rpc("miner_stop", [])
        try:
            r = http.get(f"/api/v1/datasets/{did}/data", params={"fields": "age"}, headers=api.auth("dept_b"))
            answered_at = led.block_number()
        finally:
            led.rpc("miner_start", [])
    assert r.status_code == 403 and "NoGrant" in r.json()["detail"], r.text
    assert answered_at == start  # answered while no block could be mined
    settle_refusals(live_server.app)
    [ev] = _events(deployment, "AccessRefused", did, start)
    assert ev.block_number > answered_at and int(ev.args["requesterId"]) == MEMBER_IDS["dept_b"]
