"""Data sharing over the API: catalog, requests, dual approval, grants, the gateway, refusals, lists."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from eth_utils import keccak
from fastapi.testclient import TestClient

from api.services.data import gateway_for
from ledger.data import DataSharing, RefusalReason, canonical_hash
from ledger.data.row_filter import document_text, row_filter_hash
from ledger.gateway import ALARM, GatewayIntegrityError
from tests.api.conftest import Api
from tests.api.test_data_support import decrypt, register_data_key, settle_refusals, synthetic_csv, unique, upload
from tests.conftest import MEMBER_IDS, Deployment
from tests.ledger.test_fund_docs import signed
from tests.ledger.test_waves import _until

pytestmark = pytest.mark.ganache


@pytest.fixture(scope="module")
def keys(deployment: Deployment) -> dict[str, Any]:
    return {label: register_data_key(deployment, label) for label in ("c1", "dept_b")}


@pytest.fixture(scope="module")
def shared(client: TestClient, api: Api, deployment: Deployment, keys: dict[str, Any]) -> dict[str, Any]:
    """民政局 (c2) owns a sensitive dataset; 街道办 (c1) holds a grant on two of its fields."""
    content = synthetic_csv(6)
    r = upload(client, api.auth("c2"), unique("elderly registry"), "sensitive", content, "elderly.csv")
    assert r.status_code == 201, r.text
    ds = r.json()["dataset"]
    r = client.post("/api/v1/access-requests", headers=api.auth("c1"),
                    json={"dataset_id": ds["id"], "purpose_code": 3, "purpose": "home visits",
                          "fields": ["district", "age"], "duration": 3600})
    assert r.status_code == 201, r.text
    rid = r.json()["request"]["id"]
    r = client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c2"))
    assert r.status_code == 200, r.text
    assert r.json()["request"]["state"] == "partially_approved" and r.json()["grant"] is None
    r = client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c3"))
    assert r.status_code == 200, r.text
    grant = r.json()["grant"]
    assert grant["state"] == "active" and r.json()["request"]["state"] == "granted"
    return {"dataset": ds, "content": content, "request_id": rid, "grant": grant}


def _refusals(deployment: Deployment, dataset_id: int, since_block: int) -> list[Any]:
    led = deployment.ledger()
    out = []
    for b in range(since_block + 1, led.block_number() + 1):
        blk = led.w3.eth.get_block(b, full_transactions=False)
        for h in blk["transactions"]:
            rc = led.receipt("0x" + bytes(h).hex())
            assert rc is not None
            out += [e for e in rc.events if e.name in ("AccessRefused", "AccessRecorded")
                    and int(e.args["datasetId"]) == dataset_id]
    return out


def test_upload_registers_content_hash(shared: dict[str, Any], deployment: Deployment) -> None:
    ds = shared["dataset"]
    assert ds["content_hash"] == "0x" + keccak(shared["content"]).hex()
    assert ds["fields"] == ["resident_id", "name", "age", "district", "needs_visit"] and ds["rows"] == 6
    assert ds["classification"] == "sensitive" and ds["owner_id"] == MEMBER_IDS["c2"]
    on_chain = DataSharing(deployment.ledger()).dataset(ds["id"])
    assert on_chain.content_hash == keccak(shared["content"])
    types = [(f["name"], f["type"]) for f in ds["table_schema"]["fields"]]  # inferred, in the file's order
    assert types == [("resident_id", "string"), ("name", "string"), ("age", "integer"), ("district", "string"),
                     ("needs_visit", "boolean")]
    assert on_chain.schema_hash == canonical_hash(ds["table_schema"])


def test_upload_with_a_table_schema_validates_the_file(client: TestClient, api: Api, deployment: Deployment) -> None:
    content = synthetic_csv(4)
    schema = {"fields": [{"name": n, "type": "string"} for n in ("resident_id", "name", "district", "needs_visit")]}
    schema["fields"].insert(2, {"name": "age", "type": "integer", "constraints": {"minimum": 18}})
    r = upload(client, api.auth("c2"), unique("typed"), "internal", content, schema=schema)
    assert r.status_code == 201, r.text
    ds = r.json()["dataset"]
    assert ds["table_schema"] == schema and ds["schema_hash"] == "0x" + canonical_hash(schema).hex()
    assert DataSharing(deployment.ledger()).dataset(ds["id"]).schema_hash == canonical_hash(schema)
    bad = content.replace(b",71,", b",17,")  # the second row's age is below the minimum
    before = DataSharing(deployment.ledger()).dataset_count()
    r = upload(client, api.auth("c2"), unique("typed"), "internal", bad, schema=schema)
    assert r.status_code == 422, r.text
    assert "row 3 (the header is row 1), field 'age': constraint error: '17'" in r.text
    r = upload(client, api.auth("c2"), unique("typed"), "internal", synthetic_csv(2), schema={"fields": "age"})
    assert r.status_code == 422 and "field descriptors" in r.text
    # a new version must fit the registered schema: the stored one is used when none is given
    r = client.put(f"/api/v1/datasets/{ds['id']}/content", headers=api.auth("c2"),
                   files={"file": ("v2.csv", synthetic_csv(3).replace(b",70,", b",seventy,"), "text/csv")})
    assert r.status_code == 422 and "field 'age': type error: 'seventy'" in r.text, r.text
    assert DataSharing(deployment.ledger()).dataset_count() == before


def test_fetch_in_scope_decrypts_to_the_projection(client: TestClient, api: Api, shared: dict[str, Any],
                                                    keys: dict[str, Any], deployment: Deployment) -> None:
    did, gid = shared["dataset"]["id"], shared["grant"]["id"]
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age,district"}, headers=api.auth("c1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grant_id"] == gid and body["rows"] == 6 and body["fields"] == ["age", "district"]
    plain = decrypt(keys["c1"], body)
    lines = plain.decode().splitlines()
    assert lines[0] == "age,district" and len(lines) == 7 and "合成居民" not in plain.decode()
    assert body["payload_hash"] == "0x" + keccak(plain).hex()
    rc = deployment.ledger().receipt(body["tx"]["tx_hash"])
    assert rc is not None and rc.event("AccessRecorded").args["grantId"] == gid
    assert DataSharing(deployment.ledger()).grant(gid).accesses >= 1


def test_a_subset_of_the_granted_fields_is_served(
        client: TestClient, api: Api, shared: dict[str, Any], keys: dict[str, Any], deployment: Deployment) -> None:
    """Issue 17: a grant on age,district serves age alone (data minimisation); the access records
    the mask served. (A field outside: test_out_of_scope_and_no_grant_are_refused_and_recorded.)"""
    did, gid = shared["dataset"]["id"], shared["grant"]["id"]
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age"}, headers=api.auth("c1"))
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == ["age"] and decrypt(keys["c1"], r.json()).decode().splitlines()[0] == "age"
    rc = deployment.ledger().receipt(r.json()["tx"]["tx_hash"])
    assert rc is not None and int(rc.event("AccessRecorded").args["fieldMask"]) == 1 << 2  # age: field 2
    assert r.json()["grant_id"] == gid  # found for the caller: the grant whose fields hold age


def test_out_of_scope_and_no_grant_are_refused_and_recorded(client: TestClient, api: Api, shared: dict[str, Any],
                                                             deployment: Deployment) -> None:
    did = shared["dataset"]["id"]
    start = deployment.ledger().block_number()
    every = "resident_id,name,age,district,needs_visit"  # all the schema's fields: outside the grant
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": every}, headers=api.auth("c1"))
    assert r.status_code == 403, r.text
    assert "OutOfScope" in r.json()["detail"]
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age,name"}, headers=api.auth("c1"))
    assert r.status_code == 403 and "OutOfScope" in r.json()["detail"], r.text
    assert "fields name are outside" in r.json()["detail"]  # the field outside the grant, named
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age,district"}, headers=api.auth("dept_a"))
    assert r.status_code == 403 and "NoGrant" in r.json()["detail"]
    settle_refusals(client.app)  # members' refusals are recorded off the request path
    evs = _refusals(deployment, did, start)
    got = sorted((int(e.args["requesterId"]), int(e.args["reason"]), int(e.args["attempts"])) for e in evs)
    # c1's second refusal within the window is counted into a second record (sent when settled)
    c1_out_of_scope = (MEMBER_IDS["c1"], RefusalReason.OUT_OF_SCOPE, 1)
    assert got == sorted([c1_out_of_scope, c1_out_of_scope, (MEMBER_IDS["dept_a"], RefusalReason.NO_GRANT, 1)])


def test_a_grant_id_beyond_the_count_is_no_grant(client: TestClient, api: Api, shared: dict[str, Any]) -> None:
    """The gateway reads no grant count: getGrant's own DataUnknownGrant names a grant that does not exist."""
    did = shared["dataset"]["id"]
    r = client.get(f"/api/v1/datasets/{did}/data", params={"grant_id": shared["grant"]["id"] + 10**6},
                   headers=api.auth("c1"))
    assert r.status_code == 403 and "NoGrant" in r.json()["detail"], r.text
    assert f"no grant on dataset {did} was presented or found" in r.json()["detail"]
    settle_refusals(client.app)  # its record goes out now, not into the next test's blocks


def test_other_department_cannot_approve_revoke_or_fetch(client: TestClient, api: Api, shared: dict[str, Any],
                                                        deployment: Deployment) -> None:
    did, gid = shared["dataset"]["id"], shared["grant"]["id"]
    r = client.post("/api/v1/access-requests", headers=api.auth("dept_b"),
                    json={"dataset_id": did, "purpose_code": 1, "purpose": "bins", "fields": ["district"],
                          "duration": 60})
    assert r.status_code == 201
    rid = r.json()["request"]["id"]
    led = deployment.ledger()
    height = led.block_number()
    for label in ("dept_a", "dept_b", "c1"):  # not the owner; none holds data governance
        r = client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth(label))
        assert r.status_code == 403, (label, r.text)
        r = client.post(f"/api/v1/access-requests/{rid}/deny", headers=api.auth(label), json={"reason_code": 1})
        assert r.status_code == 403, (label, r.text)
        r = client.post(f"/api/v1/grants/{gid}/revoke", headers=api.auth(label))
        assert r.status_code == 403, (label, r.text)
        assert "only the owner" in r.json()["detail"]
        r = client.post(f"/api/v1/grants/{gid}/renew", headers=api.auth(label), json={"extension": 60})
        assert r.status_code == 403
        r = client.post(f"/api/v1/grants/{gid}/freeze", headers=api.auth(label))
        assert r.status_code == 403
    assert led.block_number() == height  # nothing was sent
    assert DataSharing(led).grant(gid).state.name == "ACTIVE"
    # fetching with someone else's grant: 403 NotGrantee, only the refusal is on chain
    accesses = DataSharing(led).grant(gid).accesses
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age,district", "grant_id": gid},
                   headers=api.auth("dept_b"))
    assert r.status_code == 403 and "NotGrantee" in r.json()["detail"]
    settle_refusals(client.app)
    evs = _refusals(deployment, did, height)
    assert [(e.name, int(e.args["reason"]), int(e.args["requesterId"])) for e in evs] == [
        ("AccessRefused", RefusalReason.NOT_GRANTEE, MEMBER_IDS["dept_b"])]
    assert DataSharing(led).grant(gid).accesses == accesses
    # the owner denies it
    r = client.post(f"/api/v1/access-requests/{rid}/deny", headers=api.auth("c2"), json={"reason_code": 9})
    assert r.status_code == 200 and r.json()["request"]["state"] == "denied"
    r = client.post(f"/api/v1/access-requests/{rid}/deny", headers=api.auth("c2"), json={"reason_code": 9})
    assert r.status_code == 409 and r.json()["error"] == "DataRequestNotOpen"


BINS = b'{"bin":"B-1","fill":0.5}\n{"bin":"B-2","fill":0.1}\n'


def _grant_for(client: TestClient, api: Api, owner: str, grantee: str, classification: str = "internal",
               duration: int = 3600, content: bytes = BINS) -> tuple[int, int]:
    r = upload(client, api.auth(owner), unique("bins"), classification, content, "bins.jsonl")
    assert r.status_code == 201, r.text
    did = r.json()["dataset"]["id"]
    r = client.post("/api/v1/access-requests", headers=api.auth(grantee),
                    json={"dataset_id": did, "purpose_code": 2, "purpose": "routes", "duration": duration})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/access-requests/{r.json()['request']['id']}/approve", headers=api.auth(owner))
    assert r.status_code == 200, r.text
    return did, r.json()["grant"]["id"]


def test_frozen_then_revoked_is_refused_with_reason_on_chain(client: TestClient, api: Api, keys: dict[str, Any],
                                                             deployment: Deployment) -> None:
    did, gid = _grant_for(client, api, "dept_a", "dept_b")
    r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))
    assert r.status_code == 200, r.text
    assert decrypt(keys["dept_b"], r.json()) == b'{"bin":"B-1","fill":0.5}\n{"bin":"B-2","fill":0.1}\n'
    start = deployment.ledger().block_number()
    assert client.post(f"/api/v1/grants/{gid}/freeze", headers=api.auth("c3")).json()["grant"]["state"] == "frozen"
    r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))
    assert r.status_code == 403 and "GrantFrozen" in r.json()["detail"], r.text
    settle_refusals(client.app)
    assert client.post(f"/api/v1/grants/{gid}/unfreeze", headers=api.auth("c3")).status_code == 200
    assert client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b")).status_code == 200
    r = client.post(f"/api/v1/grants/{gid}/revoke", headers=api.auth("dept_a"))
    assert r.status_code == 200 and r.json()["grant"]["state"] == "revoked"
    r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))
    assert r.status_code == 403 and "GrantRevoked" in r.json()["detail"]
    settle_refusals(client.app)
    evs = _refusals(deployment, did, start)
    assert [(e.name, int(e.args.get("reason", -1))) for e in evs] == [
        ("AccessRefused", RefusalReason.GRANT_FROZEN), ("AccessRecorded", -1),
        ("AccessRefused", RefusalReason.GRANT_REVOKED)]
    assert all(int(e.args["grantId"]) == gid for e in evs)


def test_expired_grant_is_refused(client: TestClient, api: Api, keys: dict[str, Any], deployment: Deployment) -> None:
    did, gid = _grant_for(client, api, "dept_a", "dept_b", duration=1)
    led = deployment.ledger()
    led.rpc("evm_increaseTime", [2])
    led.rpc("evm_mine", [])
    r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))
    assert r.status_code == 403 and "GrantExpired" in r.json()["detail"], r.text
    assert client.get(f"/api/v1/grants/{gid}", headers=api.auth("dept_b")).json()["state"] == "expired"


@pytest.mark.parametrize("edited", ["enc", "json"])
def test_tampered_store_is_a_server_side_alarm(client: TestClient, api: Api, deployment: Deployment,
                                               keys: dict[str, Any], caplog: pytest.LogCaptureFixture,
                                               edited: str) -> None:
    """Issue 14 item 19: an edited ciphertext or metadata file is the server's integrity failure, not the
    caller's bad input (it was answered 422 "invalid input" and logged as a plain access line)."""
    content = b'{"bin":"T-1","fill":0.25}\n{"bin":"T-2","fill":0.75,"tag":"' + unique("t").encode() + b'"}\n'
    did, gid = _grant_for(client, api, "dept_a", "dept_b", content=content)
    ds = DataSharing(deployment.ledger()).dataset(did)
    path = api.settings.gateway_store_dir / "blobs" / f"m{ds.owner_id}" / f"{ds.content_hash.hex()}.{edited}"
    raw = path.read_bytes()
    if edited == "enc":
        path.write_bytes(raw[:-3] + bytes([raw[-3] ^ 0x10]) + raw[-2:])
    else:
        path.write_text(raw.decode().replace('"rows": 2', '"rows": 3'))
        assert path.read_bytes() != raw
    caplog.set_level(logging.INFO)
    try:
        r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))
    finally:
        path.write_bytes(raw)
    assert r.status_code == 500, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["type"] == "urn:cogov:problem:gateway-integrity" and body["code"] == "gateway-integrity"
    assert f"dataset {did}" in body["detail"] and "envelope" not in body
    alarms = [x for x in caplog.records if x.levelno == logging.CRITICAL and ALARM in x.getMessage()]
    assert len(alarms) == 1 and x_names(alarms[0], did, ds.content_hash)
    assert "T-1" not in caplog.text and "fill" not in caplog.text  # never content
    assert DataSharing(deployment.ledger()).grant(gid).accesses == 0  # nothing served, nothing recorded
    r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))  # the restored copy serves again
    assert r.status_code == 200, r.text


def x_names(record: logging.LogRecord, dataset_id: int, content_hash: bytes) -> bool:
    message = record.getMessage()
    return f"dataset={dataset_id}" in message and content_hash.hex() in message


def test_lists_filter_and_paginate(client: TestClient, api: Api, shared: dict[str, Any]) -> None:
    did = shared["dataset"]["id"]
    h = api.auth("dept_a")
    # an access and a refusal of its own, for the access log's filters below (not the other tests')
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age,district"}, headers=api.auth("c1"))
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age"}, headers=api.auth("c3"))
    assert r.status_code == 403 and "NoGrant" in r.json()["detail"], r.text
    settle_refusals(client.app)
    for i in range(3):
        r = client.post("/api/v1/access-requests", headers=api.auth("dept_a"),
                        json={"dataset_id": did, "purpose_code": 4, "purpose": f"p{i}", "fields": ["age"],
                              "duration": 60})
        assert r.status_code == 201
    r = client.get("/api/v1/access-requests", params={"dataset_id": did, "requester_id": MEMBER_IDS["dept_a"]},
                   headers=h)
    body = r.json()
    assert body["count"] == 3 and [x["requester_id"] for x in body["data"]] == [MEMBER_IDS["dept_a"]] * 3
    ids = [x["id"] for x in body["data"]]
    assert ids == sorted(ids, reverse=True)
    page = client.get("/api/v1/access-requests", params={"dataset_id": did, "requester_id": MEMBER_IDS["dept_a"],
                                                         "offset": 1, "limit": 1}, headers=h).json()
    assert page["count"] == 3 and [x["id"] for x in page["data"]] == [ids[1]]
    granted = client.get("/api/v1/access-requests", params={"dataset_id": did, "state": "granted"}, headers=h).json()
    assert [x["id"] for x in granted["data"]] == [shared["request_id"]]
    pending = client.get("/api/v1/access-requests", params={"dataset_id": did, "state": "pending"}, headers=h).json()
    assert pending["count"] == 3
    mine = client.get("/api/v1/datasets", params={"owner_id": MEMBER_IDS["c2"], "classification": "sensitive"},
                      headers=h).json()
    assert did in [x["id"] for x in mine["data"]] and all(x["owner_id"] == MEMBER_IDS["c2"] for x in mine["data"])
    grants = client.get("/api/v1/grants", params={"grantee_id": MEMBER_IDS["c1"], "state": "active"}, headers=h).json()
    assert shared["grant"]["id"] in [g["id"] for g in grants["data"]]
    assert all(g["grantee_id"] == MEMBER_IDS["c1"] and g["state"] == "active" for g in grants["data"])
    log = client.get("/api/v1/access-log", params={"dataset_id": did}, headers=h).json()
    kinds = {x["kind"] for x in log["data"]}
    assert kinds == {"access", "refusal"} and log["count"] == len(log["data"])
    acc = client.get("/api/v1/access-log", params={"dataset_id": did, "kind": "access"}, headers=h).json()
    assert acc["count"] >= 1 and all(x["kind"] == "access" and x["rows"] == 6 for x in acc["data"])
    future = client.get("/api/v1/access-log", params={"dataset_id": did, "since": int(time.time()) + 10**6},
                        headers=h).json()
    assert future == {"data": [], "count": 0}
    assert client.get("/api/v1/access-log", params={"kind": "bogus"}, headers=h).status_code == 422
    assert client.get("/api/v1/datasets/999999", headers=h).status_code == 404
    assert client.get("/api/v1/grants/999999", headers=h).status_code == 404
    assert client.get("/api/v1/datasets", headers={}).status_code == 401


def test_request_terms_and_validation(client: TestClient, api: Api, shared: dict[str, Any]) -> None:
    did = shared["dataset"]["id"]
    row_filter = {"all": [{"field": "district", "op": "in", "value": ["和平里", "幸福里"]}]}
    r = client.post("/api/v1/access-requests", headers=api.auth("dept_a"),
                    json={"dataset_id": did, "purpose_code": 4, "purpose": "x", "fields": ["name", "age"],
                          "duration": 60, "max_accesses": 3, "no_onward_sharing": True, "row_filter": row_filter})
    assert r.status_code == 201, r.text
    req = r.json()["request"]
    assert (req["field_mask"], req["fields"], req["max_accesses"], req["no_onward_sharing"]) == (
        "0x6", ["name", "age"], 3, True)
    assert req["purpose_name"] == "统计分析 (statistics and analysis)"
    assert req["row_filter_hash"] == "0x" + row_filter_hash(row_filter).hex()
    for body, field in (({"fields": ["age", "salary", "email"]}, "salary"), ({"purpose_code": 13}, "purpose_code"),
                        ({"purpose_code": 0}, "purpose_code"), ({"duration": 0}, "duration"),
                        ({"row_filter": {"all": [{"field": "zip", "op": "eq", "value": "1"}]}}, "zip")):
        bad = client.post("/api/v1/access-requests", headers=api.auth("dept_a"),
                          json={"dataset_id": did, "purpose_code": 4, "purpose": "x", "duration": 60, **body})
        assert bad.status_code == 422 and field in bad.text, (body, bad.text)
    assert "email, salary" in client.post(
        "/api/v1/access-requests", headers=api.auth("dept_a"),
        json={"dataset_id": did, "purpose_code": 4, "purpose": "x", "duration": 60, "fields": ["salary", "email"]},
    ).json()["detail"]
    own = client.post("/api/v1/access-requests", headers=api.auth("c2"),
                      json={"dataset_id": did, "purpose_code": 4, "purpose": "x", "duration": 60})
    assert own.status_code == 409 and own.json()["error"] == "DataRequesterIsOwner"
    r = upload(client, api.auth("resident"), unique("not a department"), "public", b"a,b\n1,2\n")
    assert r.status_code == 403


def test_fetch_of_an_unknown_dataset_is_404_with_or_without_a_grant(client: TestClient, api: Api,
                                                                    shared: dict[str, Any]) -> None:
    gid = shared["grant"]["id"]
    for params in ({}, {"grant_id": gid}):
        r = client.get("/api/v1/datasets/999999/data", params=params, headers=api.auth("c1"))
        assert r.status_code == 404 and r.json()["code"] == "not-found", r.text


def test_grantee_without_a_data_key_is_409_and_nothing_is_recorded(client: TestClient, api: Api,
                                                                   deployment: Deployment) -> None:
    from ledger.membership import Registry

    reg = Registry(deployment.ledger())
    owner, grantee = "dept_b", next(
        (lb for lb in ("dept_a", "c2") if reg.member(MEMBER_IDS[lb]).data_key is None), None)
    if grantee is None:
        pytest.skip("every department member here already has a data key")
    own = b'{"bin":"' + unique("B").encode() + b'","fill":0.3}\n'  # its own file: a content hash is one member's
    did, gid = _grant_for(client, api, owner, grantee, content=own)
    r = client.get(f"/api/v1/datasets/{did}/data", params={"grant_id": gid}, headers=api.auth(grantee))
    assert r.status_code == 409 and "no registered X25519 data key" in r.json()["detail"], r.text
    assert DataSharing(deployment.ledger()).grant(gid).accesses == 0


def test_a_grants_row_filter_is_read_from_the_document_store(client: TestClient, shared: dict[str, Any],
                                                              deployment: Deployment,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """The gateway reads a grant's row filter by its hash from the service's document store, where the
    request kept it; a filter it cannot read is an integrity alarm (nothing can be served under it)."""
    state = client.app.state.service  # type: ignore[attr-defined]
    gw = gateway_for(state)
    ds = DataSharing(deployment.ledger()).dataset(shared["dataset"]["id"])
    stored = gw.store.meta(ds.owner_id, ds.content_hash)
    east = {"all": [{"field": "district", "op": "eq", "value": "东区"}]}
    draft = state.docs.draft("row_filter", document_text(east))
    state.docs.journal([draft]).record(signed("0x" + "ab" * 32))  # kept (pending) as a request's text is
    flt = gw.row_filter(ds, stored, draft.hash)
    assert flt is not None and gw.row_filter(ds, stored, None) is None
    content = gw.store.read_bound(ds.owner_id, ds.content_hash, ds.id, ds.version)
    out, rows = gw.store.project(stored, content, ["district", "age"], flt)
    assert rows == 3 and "西区" not in out.decode()  # synthetic_csv(6): 东区 and 西区 alternate
    caplog.set_level(logging.INFO)
    with pytest.raises(GatewayIntegrityError):
        gw.row_filter(ds, stored, b"\x02" * 32)
    assert any(ALARM in x.getMessage() and "is not held here" in x.getMessage() for x in caplog.records)


def test_a_grant_with_a_row_filter_serves_only_its_rows(client: TestClient, api: Api, keys: dict[str, Any],
                                                        deployment: Deployment) -> None:
    """Issue 17: the owner approves the request's row filter with it; the gateway serves only the rows
    passing it (compared after the schema's casting: age is an integer field), and records that count."""
    content = synthetic_csv(8)  # ages 70..77, districts 东区 and 西区 alternate
    r = upload(client, api.auth("dept_a"), unique("visits"), "internal", content, "visits.csv")
    did = r.json()["dataset"]["id"]
    east_70s = {"all": [{"field": "district", "op": "eq", "value": "东区"},
                        {"field": "age", "op": "in", "value": [70, 72, 73]}]}
    r = client.post("/api/v1/access-requests", headers=api.auth("c1"),
                    json={"dataset_id": did, "purpose_code": 3, "purpose": "visits", "duration": 3600,
                          "fields": ["district", "age"], "row_filter": east_70s})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/access-requests/{r.json()['request']['id']}/approve", headers=api.auth("dept_a"))
    gid = r.json()["grant"]["id"]
    r = client.get(f"/api/v1/datasets/{did}/data", params={"fields": "age,district", "grant_id": gid},
                   headers=api.auth("c1"))
    assert r.status_code == 200, r.text
    assert decrypt(keys["c1"], r.json()).decode() == "age,district\n70,东区\n72,东区\n"  # 73 is 西区's
    assert r.json()["rows"] == 2


def test_grant_shows_its_terms_and_narrows(client: TestClient, api: Api, deployment: Deployment) -> None:
    """A grant shows its purpose by name, its fields by name, the accesses left and the end date;
    the grantee narrows it (fewer fields, a limit), the owner an earlier end; widening is refused."""
    r = upload(client, api.auth("dept_a"), unique("terms"), "internal", synthetic_csv(3), "terms.csv")
    did = r.json()["dataset"]["id"]
    r = client.post("/api/v1/access-requests", headers=api.auth("dept_b"),
                    json={"dataset_id": did, "purpose_code": 9, "purpose": "routes", "duration": 3600,
                          "fields": ["age", "district", "needs_visit"], "max_accesses": 5})
    r = client.post(f"/api/v1/access-requests/{r.json()['request']['id']}/approve", headers=api.auth("dept_a"))
    g = r.json()["grant"]
    assert (g["purpose_name"], g["fields"], g["remaining_accesses"], g["no_onward_sharing"]) == (
        "城市管理 (urban management)", ["age", "district", "needs_visit"], 5, False)
    gid = g["id"]
    r = client.post(f"/api/v1/grants/{gid}/narrow", headers=api.auth("dept_b"), json={"fields": ["age"]})
    assert r.status_code == 200, r.text
    assert r.json()["grant"]["fields"] == ["age"] and r.json()["grant"]["field_mask"] == "0x4"
    end = g["expires_at"] - 600
    r = client.post(f"/api/v1/grants/{gid}/narrow", headers=api.auth("dept_a"), json={"max_accesses": 2,
                                                                                      "expires_at": end})
    assert r.status_code == 200 and (r.json()["grant"]["remaining_accesses"], r.json()["grant"]["expires_at"]) == (
        2, end)
    for body in ({"fields": ["age", "name"]}, {"max_accesses": 3}, {"expires_at": end + 1}):
        r = client.post(f"/api/v1/grants/{gid}/narrow", headers=api.auth("dept_b"), json=body)
        assert r.status_code == 409 and r.json()["error"] == "DataTermsNotNarrower", (body, r.text)
    r = client.post(f"/api/v1/grants/{gid}/narrow", headers=api.auth("c1"), json={"max_accesses": 1})
    assert r.status_code in (403, 409) and r.json()["error"] == "DataNotGrantParty", r.text
    listed = client.get("/api/v1/grants", params={"dataset_id": did}, headers=api.auth("c1")).json()["data"]
    assert [(x["id"], x["fields"], x["purpose_code"]) for x in listed] == [(gid, ["age"], 9)]
    assert client.get(f"/api/v1/grants/{gid}", headers=api.auth("c1")).json()["purpose_name"].startswith("城市管理")
    vocabulary = client.get("/api/v1/access-requests/purposes", headers=api.auth("c1")).json()
    assert [p["code"] for p in vocabulary] == list(range(1, 13))
    assert vocabulary[8] == {"code": 9, "zh": "城市管理", "en": "urban management"}


@pytest.mark.parametrize("shared_reads", [True, False])
def test_concurrent_fetches_share_one_read_of_the_chain_begun_after_they_arrived(
    client: TestClient, api: Api, deployment: Deployment, keys: dict[str, Any], shared_reads: bool
) -> None:
    """Issue 18: fetches arriving while another fetch's read of the chain runs share the next read (one
    for all of them, begun after each arrived) instead of reading one each; each is still its own
    access on chain. Off, each fetch reads alone."""
    did, gid = _grant_for(client, api, "dept_a", "dept_b")
    gw = gateway_for(client.app.state.service)  # type: ignore[attr-defined]
    plain = gw._read
    reads: list[float] = []
    held = threading.Event()
    release = threading.Event()

    def read(wanted: Any, grant: bool) -> Any:
        got = plain(wanted, grant)
        reads.append(time.monotonic())
        if len(reads) == 1:  # the first fetch's read is done and held: the next fetches arrive meanwhile
            held.set()
            release.wait(20)
        return got

    statuses: list[int] = []
    arrived: list[float] = []

    def fetch() -> None:
        arrived.append(time.monotonic())
        statuses.append(client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b")).status_code)

    gw._read, gw.shared_reads = read, shared_reads  # type: ignore[method-assign]
    try:
        first = threading.Thread(target=fetch)
        first.start()
        assert held.wait(20)
        later = [threading.Thread(target=fetch) for _ in range(2)]
        for t in later:
            t.start()
        if shared_reads:  # both joined the next wave, which waits for the held read to end
            _until(lambda: any(w.members == 2 for w in gw._reads._open.values()))
        else:  # both read on their own meanwhile
            _until(lambda: len(reads) == 3)
        release.set()
        for t in (first, *later):
            t.join(60)
    finally:
        gw._read, gw.shared_reads = plain, True  # type: ignore[method-assign]
    assert statuses == [200, 200, 200]
    assert len(reads) == (2 if shared_reads else 3)
    assert reads[1] > max(arrived)  # the read the later fetches got began after both arrived
    assert DataSharing(deployment.ledger()).grant(gid).accesses == 3  # each its own access record


def test_a_store_file_edited_after_a_kept_read_is_read_and_alarmed_again(
    client: TestClient, api: Api, deployment: Deployment, keys: dict[str, Any]
) -> None:
    """The gateway keeps a verified read of its store while the files are unchanged; any later write to
    them (tampering) changes their signature, so the next fetch verifies again: a 500, nothing served."""
    import os

    from ledger.gateway import store as store_module

    did, gid = _grant_for(client, api, "dept_a", "dept_b", content=b'{"bin":"K-1","fill":0.5}\n')
    ds = DataSharing(deployment.ledger()).dataset(did)
    path = api.settings.gateway_store_dir / "blobs" / f"m{ds.owner_id}" / f"{ds.content_hash.hex()}.enc"
    settled = time.time() - 3  # as if uploaded seconds ago: a settled file is kept (SETTLED_NS)
    for f in path.parent.glob(f"{ds.content_hash.hex()}*"):
        os.utime(f, (settled, settled))
    time.sleep(store_module.SETTLED_NS / 1e9 + 0.1)  # the status-change time of the files settles too
    assert client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b")).status_code == 200
    gw = gateway_for(client.app.state.service)  # type: ignore[attr-defined]
    assert gw.store._kept.get(("read", path)) is not None  # the verified read is kept
    raw = path.read_bytes()
    stat = path.stat()
    path.write_bytes(raw[:-3] + bytes([raw[-3] ^ 0x10]) + raw[-2:])  # in place, same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and its modification time put back
    try:
        r = client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b"))
    finally:
        path.write_bytes(raw)
    assert r.status_code == 500 and r.json()["code"] == "gateway-integrity", r.text
    assert DataSharing(deployment.ledger()).grant(gid).accesses == 1  # only the first fetch was served
    assert client.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_b")).status_code == 200
