"""The gateway in log mode over the API: an access is an entry of the owner's transparency log with a
signed receipt (no transaction), every refusal an entry too, checkpoints anchored within the MMD and
after N entries, fail closed when anchoring is overdue; Secret datasets still recorded on chain.

The app's node is behind a real JSON-RPC proxy (``tests/rpc_proxy.py``) that can refuse every
transaction while reads still work: the anchorer fails, the gateway fails closed, and recovers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from api.testing import Api, LiveServer, api_for
from cogov.app import app
from ledger.audit import AuditOptions, run_audit
from ledger.data.checkpoints import AccessCheckpoints
from ledger.errors import AccessDenied
from ledger.gateway import Gateway, write_private_key
from ledger.gateway.crypto import open_sealed
from ledger.manifest import Manifest
from ledger.translog.receipt import InclusionProof, Receipt, verify_receipt
from tests.api.test_data_support import decrypt, register_data_key, synthetic_csv, unique, upload
from tests.conftest import MEMBER_IDS, Deployment, database_urls
from tests.reliability.env import deploy_private
from tests.rpc_proxy import RpcProxy

pytestmark = pytest.mark.ganache

OWNER = MEMBER_IDS["c2"]
MMD, GRACE = 2.0, 1.0


@pytest.fixture(scope="module")
def deployment(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """This module's own chain, not the session's: its time is the clock's (other tests move the session
    chain's ahead, and an entry's MMD counts from the gateway's clock), its members' logs this module's;
    one per database (the logs' anchors on chain would carry over from the other's run)."""
    d = deploy_private(tmp_path_factory.mktemp(f"gateway-log-{database}"))
    yield d
    d.ganache.stop()


@pytest.fixture(scope="module")
def proxy(deployment: Deployment) -> Iterator[RpcProxy]:
    with RpcProxy(deployment.ganache.config.url) as p:
        yield p


def _app(deployment: Deployment, directory: Path, prefix: str, **settings: object) -> tuple[Api, TestClient]:
    api = api_for(deployment, directory, prefix, gateway_sync_classifications=frozenset({"secret"}), **settings)
    return api, TestClient(create_app(api.settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def logged(request: pytest.FixtureRequest, database: str, deployment: Deployment, proxy: RpcProxy,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The API over the proxy: MMD 2 s, grace 1 s."""
    api, client = _app(
        deployment,
        tmp_path_factory.mktemp("gwlog"),
        "gwlog",
        rpc_urls=[proxy.url],
        gateway_mmd=MMD,
        gateway_fail_closed_grace=GRACE,
        receipt_timeout=10.0,
        **database_urls(request, database),
    )
    with client:
        yield api, client


def _share(client: TestClient, api: Api, classification: str = "internal", owner: str = "c2") -> dict[str, Any]:
    """``owner`` (c2: 民政局) uploads a dataset; c1 (街道办) is granted ``district,age`` of it."""
    r = upload(client, api.auth(owner), unique("低保名册 log"), classification, synthetic_csv(5), "roster.csv")
    assert r.status_code == 201, r.text
    did = r.json()["dataset"]["id"]
    body = {
        "dataset_id": did,
        "purpose_code": 2,
        "purpose": "入户走访",
        "fields": ["district", "age"],
        "duration": 86_400,
    }
    r = client.post("/api/v1/access-requests", headers=api.auth("c1"), json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["request"]["id"]
    for approver in (owner, "c3") if classification in ("sensitive", "secret") else (owner,):
        r = client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth(approver))
        assert r.status_code == 200, r.text
    return {"dataset": did, "grant": r.json()["grant"]["id"]}


def _fetch(client: TestClient, api: Api, s: dict[str, Any], label: str = "c1") -> Any:
    """``label`` fetches the granted fields of ``s``'s dataset under its grant."""
    params = {"fields": "district,age", "grant_id": s["grant"]}
    return client.get(f"/api/v1/datasets/{s['dataset']}/data", headers=api.auth(label), params=params)


def _gateway(client: TestClient) -> Gateway:
    gw = client.app.state.service._data_gateway  # type: ignore[attr-defined]
    assert isinstance(gw, Gateway)
    return gw


def _anchored(deployment: Deployment, log_id: int) -> dict[str, Any]:
    cp: dict[str, Any] = deployment.ledger().call("AccessCheckpoints", "latestCheckpoint", log_id)
    return cp


def _until(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_an_access_is_logged_with_a_signed_receipt_and_anchored_within_the_mmd(
    logged: tuple[Api, TestClient], deployment: Deployment, tmp_path: Path
) -> None:
    api, client = logged
    priv = register_data_key(deployment, "c1")
    s = _share(client, api)
    accesses = deployment.ledger().call("DataSharing", "getGrant", s["grant"])["accesses"]
    r = client.get(f"/api/v1/datasets/{s['dataset']}/data", headers=api.auth("c1"),
                   params={"fields": "age,name", "grant_id": s["grant"]})
    assert r.status_code == 403 and r.json()["log_entry"]["log"] == OWNER  # name: outside the grant, logged
    r = _fetch(client, api, s)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tx"] is None and decrypt(priv, body).startswith(b"age,district\n")
    rc = body["receipt"]
    entry = rc["entry"].encode()
    doc = json.loads(entry)
    assert doc["kind"] == "access" and doc["grant"] == s["grant"] and doc["member"] == MEMBER_IDS["c1"]
    assert doc["dataset"] == s["dataset"] and doc["fields"] == "0xc" and doc["reason"] is None  # age (2), district (3)
    assert rc["leaf_hash"] == "0x" + hashlib.sha256(b"\x00" + entry).hexdigest()
    assert rc["log"] == OWNER and rc["mmd"] == int(MMD) and rc["time"] == doc["time"]
    # the envelope binds the answer (grant, fields, rows, content); the access's own facts are the receipt's
    header = body["envelope"]["header"]
    assert header["grant_id"] == s["grant"] and header["rows"] == body["rows"] and "seq" not in header
    again = _fetch(client, api, s).json()  # sealed once per grantee key and answer: the same envelope
    assert again["envelope"] == body["envelope"] and again["receipt"]["index"] == rc["index"] + 1
    # the binary answer: the ciphertext as the body, the rest of the answer in one header
    raw = client.get(f"/api/v1/datasets/{s['dataset']}/data", headers={**api.auth("c1"), "Accept":
                     "application/octet-stream"}, params={"fields": "district,age", "grant_id": s["grant"]})
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/octet-stream"
    meta = json.loads(base64.urlsafe_b64decode(raw.headers["x-cogov-answer"]))
    assert "ciphertext" not in meta["envelope"] and meta["receipt"]["index"] == rc["index"] + 2
    assert open_sealed(priv, meta["envelope"], raw.content) == open_sealed(priv, body["envelope"])
    # the CLI decrypts the answer and keeps the receipt beside the data, for verify-receipt and auditors
    saved, key, out = tmp_path / "answer.json", tmp_path / "c1.key", tmp_path / "got.csv"
    saved.write_text(json.dumps(body))
    write_private_key(key, priv)
    res = CliRunner().invoke(app, ["data", "fetch", str(s["dataset"]), "--key-file", str(key), "--out", str(out),
                                   "--envelope", str(saved)])
    assert res.exit_code == 0, res.output
    assert f"entry {rc['index']} of member {OWNER}'s access log" in res.output
    assert json.loads((tmp_path / "got.csv.receipt.json").read_text()) == rc
    # no transaction on the request path: the grant's on-chain count did not move
    assert deployment.ledger().call("DataSharing", "getGrant", s["grant"])["accesses"] == accesses
    # anchored within the MMD, at a root over this entry that is the log's
    _until(lambda: _anchored(deployment, OWNER)["treeSize"] > rc["index"], MMD + 3, "not anchored within the MMD")
    cp = _anchored(deployment, OWNER)
    tlog = _gateway(client).log_mode.logs.log(OWNER).tlog
    assert bytes(cp["rootHash"]) == tlog.root(cp["treeSize"]) and tlog.entry(rc["index"]) == entry
    # the receipt verifies against the chain (signed by an account of the owner member, anchored in time, included)
    covering = AccessCheckpoints(deployment.ledger()).covering(OWNER, rc["index"]).tree_size
    r = client.get(
        "/api/v1/access-log/proof", headers=api.auth("c1"), params={"log": OWNER, "leaf": rc["index"], "size": covering}
    )
    assert r.status_code == 200, r.text
    checks = verify_receipt(Receipt.from_json(rc), deployment.ledger(), proof=InclusionProof.from_json(r.json()))
    assert checks.ok, checks
    assert rc["signer"] == deployment.signers["c2"].address


def test_the_auditor_reads_the_log_from_the_api_and_finds_it_anchored_and_inside_its_grants(
    logged: tuple[Api, TestClient], deployment: Deployment
) -> None:
    """``--access-logs-api``: the entries route with the auditor's key, the same rules as a folder."""
    api, client = logged
    _gateway(client).log_mode.logs.anchorer.flush()
    with LiveServer(api.settings) as server:  # the same store: the process's one copy of the logs
        report = run_audit(
            deployment.ledger(),
            Manifest.load(deployment.manifest_path),
            AuditOptions(api_url=server.url, api_key=api.keys["auditor"], access_logs_api=True, mmd=int(MMD) + 5),
        )
    rules = {r.id: r for r in report.rules}
    assert rules["data.log-checkpoint-mismatch"].checked and rules["data.log-entry-outside-grant"].checked
    mine = [f for f in report.findings if f.rule.startswith("data.log-") and f.records.get("log") == OWNER]
    assert mine == [], [f.message for f in mine]


def test_every_refusal_is_an_entry_of_the_owner_log(logged: tuple[Api, TestClient], deployment: Deployment) -> None:
    api, client = logged
    s = _share(client, api)
    tlog = _gateway(client).log_mode.logs.log(OWNER).tlog
    r = _fetch(client, api, s, "dept_b")
    assert r.status_code == 403, r.text
    where = r.json()["log_entry"]
    assert where["log"] == OWNER and f"entry {where['index']} of member {OWNER}" in r.json()["detail"]
    # an account of no member is refused by the API's authentication first; the gateway logs it too
    with pytest.raises(AccessDenied) as refused:
        _gateway(client).serve(s["dataset"], deployment.signers["outsider"].address, None, s["grant"])
    for (label, member), at in zip(
        (("dept_b", MEMBER_IDS["dept_b"]), ("outsider", 0)), (where, refused.value.context["log_entry"]), strict=True
    ):
        doc = json.loads(tlog.entry(at["index"]))
        assert (doc["kind"], doc["reason"], doc["member"], doc["grant"]) == (
            "refusal",
            "NotGrantee",
            member,
            s["grant"],
        )
        assert doc["account"] == deployment.signers[label].address.lower()
        assert at["leaf_hash"] == "0x" + hashlib.sha256(b"\x00" + tlog.entry(at["index"])).hexdigest()


def test_a_revocation_is_seen_at_the_next_block_whatever_the_gateway_read_before(
    logged: tuple[Api, TestClient], deployment: Deployment
) -> None:
    """The serve path reuses its chain reads within one block (one batch per block): never across blocks."""
    api, client = logged
    register_data_key(deployment, "c1")
    s = _share(client, api)
    assert [_fetch(client, api, s).status_code for _ in range(2)] == [200, 200]
    r = client.post(f"/api/v1/grants/{s['grant']}/revoke", headers=api.auth("c2"))
    assert r.status_code == 200, r.text
    r = _fetch(client, api, s)
    assert r.status_code == 403 and "GrantRevoked" in r.json()["detail"], r.text
    entry = _gateway(client).log_mode.logs.log(OWNER).tlog.entry(r.json()["log_entry"]["index"])
    assert json.loads(entry)["reason"] == "GrantRevoked"


def test_a_secret_dataset_is_still_recorded_on_chain(logged: tuple[Api, TestClient], deployment: Deployment) -> None:
    api, client = logged
    register_data_key(deployment, "c1")
    s = _share(client, api, "secret")
    r = _fetch(client, api, s)
    assert r.status_code == 200, r.text
    assert r.json()["receipt"] is None and r.json()["tx"]["tx_hash"]
    assert deployment.ledger().call("DataSharing", "getGrant", s["grant"])["accesses"] == 1


def test_fail_closed_while_anchoring_is_overdue_and_serving_again_once_anchored(
    logged: tuple[Api, TestClient], deployment: Deployment, proxy: RpcProxy
) -> None:
    api, client = logged
    register_data_key(deployment, "c1")
    s = _share(client, api)
    proxy.mode = "refuse"  # the node answers reads and refuses every transaction: anchors fail
    try:
        assert _fetch(client, api, s).status_code == 200
        _until(
            lambda: _fetch(client, api, s).status_code == 503,
            MMD + GRACE + 5,
            "the gateway kept serving with its log overdue",
        )
        r = _fetch(client, api, s)
        assert r.status_code == 503 and r.json()["code"] == "anchoring-overdue" and r.headers["Retry-After"]
        assert "overdue by" in r.json()["detail"] and "txpool is full" in r.json()["detail"]
        health = client.get("/api/v1/health").json()
        late = [a for a in health["access_logs"] if a["log"] == OWNER]
        assert health["status"] == "degraded" and late[0]["overdue"] > 0 and late[0]["failures"] >= 1
    finally:
        proxy.mode = "forward"
    _until(lambda: _fetch(client, api, s).status_code == 200, 30, "serving did not resume once anchoring worked again")
    assert [a["overdue"] for a in client.get("/api/v1/health").json()["access_logs"]] == [None]


def test_a_busy_log_is_anchored_after_n_entries(deployment: Deployment, tmp_path: Path,
                                                databases: dict[str, str]) -> None:
    """MMD 10 minutes, N = 3: the third entry anchors at once. (Another owner than the other tests':
    a member has one log, and this app's store is another copy.)"""
    api, client = _app(deployment, tmp_path, "gwcount", gateway_mmd=600.0, gateway_anchor_every=3, **databases)
    with client:
        register_data_key(deployment, "c1")
        s = _share(client, api, owner="dept_a")
        owner = MEMBER_IDS["dept_a"]
        before = _anchored(deployment, owner)["treeSize"]
        logs = _gateway(client).log_mode.logs
        for _ in range(2):
            assert _fetch(client, api, s).status_code == 200
        time.sleep(1.0)
        assert _anchored(deployment, owner)["treeSize"] == before  # 2 waiting, far from MMD/2
        assert _fetch(client, api, s).status_code == 200
        # at once, but the anchor is a transaction: a loaded machine may take a while to mine it
        _until(lambda: _anchored(deployment, owner)["treeSize"] == 3, 60, "not anchored after N entries")
        # the anchorer records it once its own wait for the receipt returns: a moment after the chain shows it
        _until(lambda: logs.anchorer.status(owner).anchored == 3, 10, "the anchorer did not record its anchor")
        assert logs.anchorer.status(owner).anchored == logs.log(owner).tlog.size == 3  # type: ignore[union-attr]


def test_a_fetch_naming_no_fields_gets_the_grants_fields(
    logged: tuple[Api, TestClient], deployment: Deployment
) -> None:
    """A grant of some of a dataset's fields serves them when the fetch names none (not every field
    of the schema, which the grant would refuse)."""
    api, client = logged
    priv = register_data_key(deployment, "c1")
    s = _share(client, api)
    r = client.get(f"/api/v1/datasets/{s['dataset']}/data", headers=api.auth("c1"), params={"grant_id": s["grant"]})
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == ["age", "district"] and decrypt(priv, r.json()).startswith(b"age,district\n")
