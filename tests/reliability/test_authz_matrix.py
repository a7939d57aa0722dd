"""Authorization matrix, generated from the OpenAPI schema: for every write endpoint (every POST,
PUT and DELETE), the API key of every label not entitled to it (every other role, and another
member with the same role) is refused with 403, and nothing reaches the chain.

A new write endpoint without a row in ``MATRIX`` fails ``test_matrix_covers_every_write_endpoint``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routers.open311 import PREFIX as OPEN311
from ledger.data import DataSharing
from tests.api.conftest import KEY_ROLES, Api
from tests.api.test_data_support import synthetic_csv
from tests.conftest import MEMBER_IDS, database_urls
from tests.reliability.env import Env, chain_events, fund_contributors, make_api, shared_dataset

pytestmark = pytest.mark.ganache

COUNCIL = {"c1", "c2"}
DEPARTMENTS = {"dept_a", "dept_b", "c1", "c2"}  # members holding the department role (the two seats too)
COMMITTEE = {"committee_a", "committee_b", "committee_c"}
CASE_TEAM = {"dept_a", "dept_b"}  # the departments of the matrix's case
MEMBERS = set(KEY_ROLES) - {"outsider"}

Ctx = dict[str, Any]
# "METHOD path" -> (labels entitled to it: never sent here, request kwargs from the context)
MATRIX: dict[str, tuple[set[str], Callable[[Ctx], dict[str, Any]]]] = {
    "POST /api/v1/council/proposals": (COUNCIL, lambda c: {"json": {"kind": "set_threshold", "threshold": 2}}),
    "POST /api/v1/council/proposals/{proposal_id}/approve": (COUNCIL, lambda c: {}),
    "POST /api/v1/council/proposals/{proposal_id}/execute": (COUNCIL, lambda c: {}),
    "POST /api/v1/council/proposals/{proposal_id}/cancel": ({"c1"}, lambda c: {}),  # the proposer only
    "POST /api/v1/datasets": (
        DEPARTMENTS,
        lambda c: {
            "data": {"title": "越权 upload", "classification": "internal"},
            "files": {"file": ("x.csv", synthetic_csv(2), "text/csv")},
        },
    ),
    "PUT /api/v1/datasets/{dataset_id}/content": (
        {"dept_a"},
        lambda c: {"files": {"file": ("x.csv", synthetic_csv(3), "text/csv")}},
    ),
    "POST /api/v1/access-requests": (
        DEPARTMENTS - {"dept_a"},
        lambda c: {
            "json": {
                "dataset_id": c["dataset_id"],
                "purpose_code": 1,
                "purpose": "越权",
                "fields": ["district"],
                "duration": 60,
            }
        },
    ),
    "POST /api/v1/access-requests/{request_id}/approve": ({"dept_a", "c3"}, lambda c: {}),
    "POST /api/v1/access-requests/{request_id}/deny": ({"dept_a"}, lambda c: {"json": {"reason_code": 1}}),
    "POST /api/v1/access-requests/{request_id}/withdraw": ({"dept_b"}, lambda c: {}),
    "POST /api/v1/grants/{grant_id}/narrow": ({"dept_a", "dept_b"}, lambda c: {"json": {"max_accesses": 1}}),
    "POST /api/v1/grants/{grant_id}/revoke": ({"dept_a"}, lambda c: {}),
    "POST /api/v1/grants/{grant_id}/renew": ({"dept_a"}, lambda c: {"json": {"extension": 60}}),
    "POST /api/v1/grants/{grant_id}/renew/approve": ({"c3"}, lambda c: {"json": {"extension": 60}}),
    "POST /api/v1/grants/{grant_id}/freeze": ({"c3"}, lambda c: {}),
    "POST /api/v1/grants/{grant_id}/unfreeze": ({"c3"}, lambda c: {}),
    "POST /api/v1/fund/contributions": (MEMBERS - {"auditor"}, lambda c: {"json": {"amount": 1}}),
    "POST /api/v1/fund/contributions/{receipt_id}/refund": ({"resident"}, lambda c: {}),
    "POST /api/v1/fund/projects": (
        {"dept_a", "dept_b"} | COMMITTEE,
        lambda c: {
            "json": {
                "title": "越权 project",
                "beneficiary": c["beneficiary"],
                "milestones": [{"amount": 1, "description": "m"}],
            }
        },
    ),
    "POST /api/v1/fund/projects/{project_id}/allocations": (COMMITTEE, lambda c: {"json": {"amount": 1}}),
    "POST /api/v1/fund/projects/{project_id}/cancellation": (COMMITTEE, lambda c: {}),
    "POST /api/v1/fund/projects/{project_id}/payouts": (
        {"treasurer"},
        lambda c: {"json": {"milestone_index": 0, "amount": 1, "invoice": "发票"}},
    ),
    # the proposer (committee_a) never votes on its own project
    "POST /api/v1/fund/motions/{motion_id}/votes": (COMMITTEE - {"committee_a"}, lambda c: {"json": {"support": True}}),
    # cases: every row on one case that 城管 (lead) sent back, naming 物业; 卫健委 assists
    "POST /api/v1/cases": (
        {"subdistrict"},
        lambda c: {"json": {"category": 4, "area_code": 1, "description": "越权", "lead_id": c["dept_b_id"]}},
    ),
    "POST /api/v1/cases/{case_id}/acknowledge": (CASE_TEAM, lambda c: {}),
    "POST /api/v1/cases/{case_id}/answer": (CASE_TEAM, lambda c: {"json": {"evidence": "越权"}}),
    "POST /api/v1/cases/{case_id}/send-back": (
        CASE_TEAM, lambda c: {"json": {"reason_code": 1, "responsible_id": c["property_id"]}}
    ),
    "POST /api/v1/cases/{case_id}/redispatch": ({"subdistrict"}, lambda c: {"json": {"category": 4, "lead_id": 1}}),
    "POST /api/v1/cases/{case_id}/evaluate": ({"subdistrict"}, lambda c: {"json": {"outcome": "fixed"}}),
    "POST /api/v1/cases/{case_id}/escalate": ({"subdistrict"}, lambda c: {}),  # nobody else: it is not overdue
    "POST /api/v1/cases/{case_id}/satisfaction": ({"channel"}, lambda c: {"json": {"level": "satisfied"}}),
    "POST /api/v1/audit/runs": ({"auditor"}, lambda c: {}),
    "POST /api/v1/fund/credit/mint": (
        {"treasurer"},
        lambda c: {"json": {"to": c["beneficiary"], "amount": 1, "deposit_ref": f"BANK-{secrets.token_hex(4)}"}},
    ),
}


#: Reads only some roles may make (the router's role dependency; every other read takes any member's key).
ROLE_READS = {"GET /api/v1/cases/reports": "subdistrict"}


def label_for(method: str, path: str) -> str:
    """A key label the matrix admits to ``method path`` (``dept_a`` for a route not in it)."""
    operation = f"{method.upper()} {path}"
    if operation in ROLE_READS:
        return ROLE_READS[operation]
    row = MATRIX.get(operation)
    return sorted(row[0])[0] if row else "dept_a"


# Refusals by a rule rather than by authorization (still nothing reaches the chain): the owner asking
# for its own dataset is DataRequesterIsOwner, a 409 (tests/api/test_data_api.py pins that).
RULE_REFUSALS = {("POST /api/v1/access-requests", "dept_a"): 409}


def write_operations(schema: dict[str, Any]) -> set[str]:
    """Every write that takes an API key. Not the Open311 report (``POST /open311/v2/requests``):
    anyone may send one, it writes nothing on chain (tests/api/test_open311.py covers its refusals)."""
    return {
        f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops
        if m in ("post", "put", "delete", "patch") and not p.startswith(OPEN311)
    }


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, database: str, rel: Env,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Api, Ctx]:
    d = rel.deployment
    api = make_api(d, Path(tmp_path_factory.mktemp("authz")), **database_urls(request, database))
    fund_contributors(d, ["resident"])
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
        share = shared_dataset(d, c, api)
        did = share["dataset"]["id"]
        r = c.post(
            "/api/v1/access-requests",
            headers=api.auth("dept_b"),
            json={"dataset_id": did, "purpose_code": 1, "purpose": "pending", "fields": ["age"], "duration": 60},
        )
        assert r.status_code == 201, r.text
        pending = r.json()["request"]["id"]
        r = c.post("/api/v1/council/proposals", headers=api.auth("c1"), json={"kind": "set_threshold", "threshold": 2})
        assert r.status_code == 201, r.text
        pid = r.json()["proposal"]["id"]
        r = c.post("/api/v1/fund/contributions", headers=api.auth("resident"), json={"amount": 10, "memo": "authz"})
        assert r.status_code == 201, r.text
        receipt = r.json()["contribution"]["receipt_id"]
        beneficiary = d.signers["enterprise"].address
        r = c.post(
            "/api/v1/fund/projects",
            headers=api.auth("committee_a"),
            json={
                "title": "授权矩阵 project",
                "beneficiary": beneficiary,
                "milestones": [{"amount": 5, "description": "m0"}],
            },
        )
        assert r.status_code == 201, r.text
        project = r.json()["project"]
        case = c.post("/api/v1/cases", headers=api.auth("subdistrict"), json={
            "category": 4, "area_code": 1, "description": "授权矩阵 case", "lead_id": MEMBER_IDS["dept_b"],
            "assisting_ids": [MEMBER_IDS["dept_a"]]})
        assert case.status_code == 201, case.text
        case_id = case.json()["case"]["id"]
        r = c.post(f"/api/v1/cases/{case_id}/send-back", headers=api.auth("dept_b"),
                   json={"reason_code": 3, "responsible_id": MEMBER_IDS["enterprise"]})
        assert r.status_code == 200 and r.json()["case"]["state"] == "sent_back", r.text
        ctx = {
            "case_id": case_id,
            "dept_b_id": MEMBER_IDS["dept_b"],
            "property_id": MEMBER_IDS["enterprise"],
            "dataset_id": did,
            "request_id": pending,
            "grant_id": share["grant"]["id"],
            "proposal_id": pid,
            "receipt_id": receipt,
            "project_id": project["id"],
            "motion_id": project["approval_motion_id"],
            "beneficiary": beneficiary,
            "owner_grant": share["grant"],
        }
        yield c, api, ctx


def test_matrix_covers_every_write_endpoint(world: tuple[TestClient, Api, Ctx]) -> None:
    client, _, _ = world
    assert set(MATRIX) == write_operations(client.app.openapi())  # type: ignore[attr-defined]


@pytest.mark.parametrize("operation", sorted(MATRIX))
def test_write_refused_for_everyone_not_entitled(world: tuple[TestClient, Api, Ctx], rel: Env, operation: str) -> None:
    client, api, ctx = world
    allowed, kwargs = MATRIX[operation]
    method, template = operation.split(" ", 1)
    path = template.format(**ctx)
    led = rel.deployment.ledger()
    height = led.block_number()
    refused = sorted(set(KEY_ROLES) - allowed)
    assert refused
    wrong = []
    for label in refused:
        r = client.request(
            method, path, headers={**api.auth(label), "Idempotency-Key": secrets.token_hex(8)}, **kwargs(ctx)
        )
        expected = RULE_REFUSALS.get((operation, label), 403)
        if r.status_code != expected or not r.headers["content-type"].startswith("application/problem+json"):
            wrong.append((label, r.status_code, r.text[:200]))
    assert not wrong, wrong
    assert led.block_number() == height, "a refused write reached the chain"


def test_another_department_never_fetches_on_the_owners_behalf(world: tuple[TestClient, Api, Ctx], rel: Env) -> None:
    """Fetching is a GET that records on chain: a refusal is recorded (AccessRefused), never an access."""
    client, api, ctx = world
    led = rel.deployment.ledger()
    before = len(chain_events(led, "DataSharing", "AccessRecorded"))
    for label in sorted(set(KEY_ROLES) - {"dept_b"}):
        for params in ({"fields": "district,age"}, {"fields": "district,age", "grant_id": ctx["grant_id"]}):
            r = client.get(f"/api/v1/datasets/{ctx['dataset_id']}/data", params=params, headers=api.auth(label))
            assert r.status_code == 403, (label, params, r.status_code, r.text)
    assert len(chain_events(led, "DataSharing", "AccessRecorded")) == before
    assert DataSharing(led).grant(ctx["grant_id"]).accesses == ctx["owner_grant"]["accesses"]
