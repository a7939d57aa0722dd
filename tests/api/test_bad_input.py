"""Bad input, by hand: addresses, amounts, oversized bodies, unknown ids, wrong content types,
Unicode in every free-text field, the per-key rate limit. Never a 500; always a problem+json.

Writes go to the reliability tests' private deployment (tests/reliability/env.py), never to the
session chain the other API tests count on.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eth_utils import to_checksum_address
from fastapi.testclient import TestClient

from api.main import create_app
from api.routers.open311 import ROOT as OPEN311
from tests.api.conftest import Api
from tests.api.test_data_support import synthetic_csv, upload
from tests.conftest import database_urls
from tests.reliability.env import Env, fund_contributors, make_api, private_env

pytestmark = pytest.mark.ganache

UNICODE = [
    "社区共治基金：幸福里加装电梯（第一期）",
    "繁體中文與日本語のテキスト、한국어",
    "emoji 🏗️👩‍👩‍👧 and RTL مرحبا שלום",
    "combining e\u0301 ZWJ\u200d and full-width ＡＢＣ１２３",
    '引号"反斜杠\\换行\n制表\t结束',
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return private_env("reliability", tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def bad(request: pytest.FixtureRequest, database: str, env: Env,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Api]]:
    # every account this module writes with is prepared first, by another process' nonces, before
    # the API caches any: afterwards only the API signs for them
    fund_contributors(env.deployment, ["resident", "enterprise"])
    api = make_api(env.deployment, tmp_path_factory.mktemp("bad-input"), max_body_bytes=4096,
                   **database_urls(request, database))
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
        yield c, api


def _problem(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code
    return body


# ------------------------------------------------------------------ addresses


def test_addresses(bad: tuple[TestClient, Api], env: Env) -> None:
    c, api = bad
    good = env.deployment.signers["resident"].address
    assert good != good.lower()
    for form in (good, good.lower(), "0x" + good[2:].upper()):
        r = c.get(f"/api/v1/members/by-account/{form}", headers=api.auth("auditor"))
        assert (r.status_code == 200 and r.json()["accounts"] == [good]) or good in str(r.json()), (form, r.text)
    # a wrong EIP-55 checksum (one letter's case flipped) is refused, not silently accepted
    i = next(i for i, ch in enumerate(good[2:], 2) if ch.isalpha())
    flipped = good[:i] + good[i].swapcase() + good[i + 1 :]
    assert to_checksum_address(flipped) == good and flipped != good
    malformed = [flipped, "0x123", "0x" + "g" * 40, good[2:] + "00", "0x" + "a" * 41, "0X" + good[2:], "0x" + "１" * 40]
    for form in malformed:
        r = c.get(f"/api/v1/members/by-account/{form}", headers=api.auth("auditor"))
        _problem(r, 422, 404)
        assert r.status_code == 422 or form == "0X" + good[2:], (form, r.status_code)
    for to in (flipped, "0x123", "", None, 12345):
        r = c.post(
            "/api/v1/fund/credit/mint",
            headers=api.auth("treasurer"),
            json={"to": to, "amount": 1, "deposit_ref": "BANK-x"},
        )
        _problem(r, 422)
    r = c.post(
        "/api/v1/fund/projects",
        headers=api.auth("committee_a"),
        json={"title": "t", "beneficiary": flipped, "milestones": [{"amount": 1, "description": "m"}]},
    )
    _problem(r, 422)


# ------------------------------------------------------------------ amounts


@pytest.mark.parametrize("amount", [-1, 0, 2**256, 2**256 - 1, 10**30 + 1, 1.5, "1", "一百", None, True])
def test_amounts_out_of_range_are_422(bad: tuple[TestClient, Api], env: Env, amount: Any) -> None:
    c, api = bad
    to = env.deployment.signers["resident"].address
    height = env.deployment.ledger().block_number()
    for path, label, body in (
        ("/api/v1/fund/contributions", "resident", {"amount": amount}),
        ("/api/v1/fund/credit/mint", "treasurer", {"to": to, "amount": amount, "deposit_ref": "BANK-amt"}),
        ("/api/v1/fund/projects/1/allocations", "committee_a", {"amount": amount}),
    ):
        r = c.post(path, headers={**api.auth(label), "Idempotency-Key": secrets.token_hex(6)}, json=body)
        if amount == "1" or amount is True:  # JSON coercion pydantic accepts in lax mode? it must not write
            assert r.status_code != 500
            continue
        _problem(r, 422)
    if amount not in ("1", True):
        assert env.deployment.ledger().block_number() == height


# ------------------------------------------------------------------ size limits


def test_oversized_json_body_is_413(bad: tuple[TestClient, Api]) -> None:
    c, api = bad
    r = c.post("/api/v1/fund/contributions", headers=api.auth("resident"), json={"amount": 1, "memo": "长" * 5000})
    body = _problem(r, 413)
    assert "4096" in body["detail"]


def test_oversized_upload_is_413(bad: tuple[TestClient, Api]) -> None:
    c, api = bad
    r = upload(c, api.auth("dept_a"), "big", "internal", synthetic_csv(400))
    _problem(r, 413)


def test_oversized_streamed_body_without_length_is_413(bad: tuple[TestClient, Api]) -> None:
    c, api = bad

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b'{"amount": 1, "memo": "' + b"x" * 500

    r = c.post(
        "/api/v1/fund/contributions",
        headers={**api.auth("resident"), "Content-Type": "application/json"},
        content=chunks(),
    )
    _problem(r, 413)


# ------------------------------------------------------------------ unknown ids


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/999999",
        "/api/v1/council/proposals/999999",
        "/api/v1/datasets/999999",
        "/api/v1/datasets/999999/data",
        "/api/v1/access-requests/999999",
        "/api/v1/grants/999999",
        "/api/v1/fund/contributions/999999",
        "/api/v1/fund/projects/999999",
        "/api/v1/fund/motions/999999",
        "/api/v1/fund/motions/999999/votes",
        "/api/v1/fund/contributors/999999/trace",
        "/api/v1/fund/documents/0x" + "ab" * 32,
        "/api/v1/members/by-account/0x" + "12" * 20,
    ],
)
def test_unknown_ids_are_404(bad: tuple[TestClient, Api], path: str) -> None:
    c, api = bad
    _problem(c.get(path, headers=api.auth("dept_b")), 404)


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/api/v1/access-requests/999999/approve", "dept_a"),
        ("/api/v1/grants/999999/revoke", "dept_a"),
        ("/api/v1/fund/contributions/999999/refund", "resident"),
        ("/api/v1/fund/motions/999999/votes", "committee_b"),
        ("/api/v1/council/proposals/999999/approve", "c1"),
        ("/api/v1/fund/projects/999999/cancellation", "committee_b"),
    ],
)
def test_unknown_ids_in_writes_are_404(bad: tuple[TestClient, Api], env: Env, path: str, label: str) -> None:
    c, api = bad
    height = env.deployment.ledger().block_number()
    body = {"support": True} if path.endswith("votes") else None
    _problem(c.post(path, headers=api.auth(label), json=body), 404)
    assert env.deployment.ledger().block_number() == height


@pytest.mark.parametrize("value", ["0", "-1", "abc", str(2**64), "1.5", "１"])
def test_malformed_ids_are_422(bad: tuple[TestClient, Api], value: str) -> None:
    c, api = bad
    for path in ("/api/v1/members/{}", "/api/v1/fund/projects/{}", "/api/v1/grants/{}"):
        _problem(c.get(path.format(value), headers=api.auth("dept_b")), 422)


# ------------------------------------------------------------------ integers beyond the index and the chain

OUT_OF_RANGE = (2**63, 2**256, -1)


def _integer_parameters(spec: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, parameter, schema) of every integer path or query parameter in the schema (but
    Open311's: a 400 in GeoReport v2's format, tests/api/test_open311.py). The schema carries
    ``required_query``: the operation's other required query parameters (given 1)."""
    out = []
    for path, ops in spec["paths"].items():
        if path.startswith(OPEN311):
            continue
        for method, op in ops.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                kinds = {schema.get("type")} | {x.get("type") for x in schema.get("anyOf", [])}
                if p["in"] in ("path", "query") and "integer" in kinds:
                    int_schema = next(x for x in [schema, *schema.get("anyOf", [])] if x.get("type") == "integer")
                    others = [q["name"] for q in op["parameters"]
                              if q["in"] == "query" and q.get("required") and q["name"] != p["name"]]
                    out.append((method.upper(), path, p["name"], {**int_schema, "required_query": others}))
    return sorted(out)


def _url(path: str, name: str, value: int) -> tuple[str, dict[str, int]]:
    """``path`` with ``name`` set to ``value`` (in the path, or as a query parameter); other ids 1."""
    import re

    filled = path.replace("{" + name + "}", str(value)) if "{" + name + "}" in path else path
    filled = re.sub(r"\{tx_hash\}", "0x" + "ab" * 32, filled)
    filled = re.sub(r"\{doc_hash_hex\}", "0x" + "ab" * 32, filled)
    filled = re.sub(r"\{address\}", "0x" + "12" * 20, filled)
    filled = re.sub(r"\{[a-z_]+\}", "1", filled)
    return filled, ({} if "{" + name + "}" in path else {name: value})


def test_integer_parameters_beyond_the_index_and_the_chain_are_422(bad: tuple[TestClient, Api]) -> None:
    """Issue 14, item 16: every integer a route takes (generated from the OpenAPI schema, so a new
    route is covered) refuses 2^63, 2^256 and -1 with a 422 problem naming it, never a 500; the
    largest value it declares is answered (no 500 either). Every operation declares its 422 and
    other error answers as application/problem+json."""
    from tests.reliability.test_authz_matrix import label_for

    c, api = bad
    spec = c.app.openapi()  # type: ignore[attr-defined]
    params = _integer_parameters(spec)
    named = {(path, name) for _, path, name, _ in params}
    for path in ("/api/v1/fund/refunds", "/api/v1/datasets", "/api/v1/fund/contributions", "/api/v1/access-log"):
        assert {(path, "since"), (path, "until"), (path, "limit"), (path, "offset")} <= named, path
    wrong = []
    for method, path, name, schema in params:
        assert schema.get("maximum") in (2**63 - 1, 2**48 - 1, 10**9, 500), (path, name, schema)
        assert schema.get("minimum", 0) >= 0, (path, name, schema)
        headers = api.auth(label_for(method, path))
        for value in (*OUT_OF_RANGE, schema["maximum"]):
            url, query = _url(path, name, value)
            query |= dict.fromkeys(schema["required_query"], 1)
            r = c.request(method, url, params=query, headers=headers)
            body = r.json() if r.headers.get("content-type", "").startswith("application/problem+json") else {}
            at = [e["loc"][-1] for e in body.get("errors", [])]
            if value == schema["maximum"]:
                # answered: never a 500, nor a GET's validation error naming it (a relation between
                # parameters, leaf < size, may still be a 422 of the service's own)
                if r.status_code >= 500 or (method == "GET" and r.status_code == 422 and name in at):
                    wrong.append((method, path, name, value, r.status_code, r.text[:200]))
                continue
            if r.status_code != 422 or name not in at:
                wrong.append((method, path, name, value, r.status_code, r.text[:200]))
    assert not wrong, wrong
    for path, ops in spec["paths"].items():
        if path.startswith(OPEN311):  # GeoReport v2's own error format (tests/api/test_open311.py)
            continue
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400 and not (path == "/api/v1/health" and status == "503"):
                    assert list(answer.get("content", {})) == ["application/problem+json"], (method, path, status)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in op["responses"], (method, path)


def test_a_beneficiary_outside_the_membership_is_409(bad: tuple[TestClient, Api], env: Env) -> None:
    """Issue 14, item 20: the contract refuses a project paid to an account of no member (its
    custom error named), before anything is signed; the caller is entitled, so not a 403."""
    c, api = bad
    height = env.deployment.ledger().block_number()
    outsider = env.deployment.signers["outsider"].address
    r = c.post("/api/v1/fund/projects", headers=api.auth("dept_a"),
               json={"title": "无主项目", "beneficiary": outsider, "milestones": [{"amount": 1, "description": "m"}]})
    body = _problem(r, 409)
    assert body["error"] == "FundBeneficiaryNotMember" and body["args"]["beneficiary"].lower() == outsider.lower()
    assert env.deployment.ledger().block_number() == height


# ------------------------------------------------------------------ content types


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b'{"amount": 1}'),
        ("application/xml", b"<contribution><amount>1</amount></contribution>"),
        ("application/x-www-form-urlencoded", b"amount=1"),
        (
            "multipart/form-data; boundary=zz",
            b'--zz\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1\r\n--zz--\r\n',
        ),
        ("application/json", b"{not json"),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b""),
        ("application/json", b"[1, 2, 3]"),
        ("application/json; charset=gbk", '{"amount": 1, "memo": "中文"}'.encode("gbk")),
    ],
)
def test_wrong_content_types_are_4xx_never_500(
    bad: tuple[TestClient, Api], env: Env, content_type: str, content: bytes
) -> None:
    c, api = bad
    height = env.deployment.ledger().block_number()
    r = c.post(
        "/api/v1/fund/contributions", headers={**api.auth("resident"), "Content-Type": content_type}, content=content
    )
    _problem(r, 415, 422, 400)
    assert env.deployment.ledger().block_number() == height


def test_json_where_an_upload_is_expected_is_422(bad: tuple[TestClient, Api]) -> None:
    c, api = bad
    r = c.post("/api/v1/datasets", headers=api.auth("dept_a"), json={"title": "x", "classification": "internal"})
    _problem(r, 422, 415)


def test_binary_upload_is_refused_cleanly(bad: tuple[TestClient, Api]) -> None:
    c, api = bad
    r = c.post(
        "/api/v1/datasets",
        headers=api.auth("dept_a"),
        data={"title": "bin", "classification": "internal"},
        files={"file": ("x.bin", bytes(range(256)) * 4, "application/octet-stream")},
    )
    _problem(r, 422, 415)


# ------------------------------------------------------------------ Unicode in every free-text field


def test_unicode_in_every_free_text_field(bad: tuple[TestClient, Api], env: Env) -> None:
    c, api = bad
    d = env.deployment
    for i, text in enumerate(UNICODE):
        tag = f"{text} #{secrets.token_hex(2)}"
        r = c.post("/api/v1/fund/contributions", headers=api.auth("resident"), json={"amount": 1 + i, "memo": tag})
        assert r.status_code == 201, r.text
        rid = r.json()["contribution"]["receipt_id"]
        assert r.json()["contribution"]["memo"] == tag
        assert c.get(f"/api/v1/fund/contributions/{rid}", headers=api.auth("auditor")).json()["memo"] == tag

        r = c.post(
            "/api/v1/fund/projects",
            headers=api.auth("committee_b"),
            json={
                "title": tag,
                "beneficiary": d.signers["enterprise"].address,
                "milestones": [{"amount": 3, "description": f"里程碑 {tag}"}],
            },
        )
        assert r.status_code == 201, r.text
        p = c.get(f"/api/v1/fund/projects/{r.json()['project']['id']}", headers=api.auth("auditor")).json()
        assert p["title"] == tag and p["milestones"][0]["description"] == f"里程碑 {tag}"

        r = upload(c, api.auth("dept_a"), tag, "internal", synthetic_csv(2), f"名册{i}.csv")
        assert r.status_code == 201, r.text
        ds = r.json()["dataset"]
        assert c.get(f"/api/v1/datasets/{ds['id']}", headers=api.auth("dept_b")).json()["title"] == tag

        r = c.post(
            "/api/v1/access-requests",
            headers=api.auth("dept_b"),
            json={"dataset_id": ds["id"], "purpose_code": 1, "purpose": tag, "fields": ["district"], "duration": 60},
        )
        assert r.status_code == 201, r.text
        req = c.get(f"/api/v1/access-requests/{r.json()['request']['id']}", headers=api.auth("dept_a")).json()
        assert req.get("purpose") in (tag, None)

        r = c.post(
            "/api/v1/fund/credit/mint",
            headers=api.auth("treasurer"),
            json={"to": d.signers["resident"].address, "amount": 1, "deposit_ref": f"银行流水 {tag}"},
        )
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\ud800", "\U0010ffff"])
def test_control_and_lone_surrogate_text_never_500(bad: tuple[TestClient, Api], env: Env, text: str) -> None:
    c, api = bad
    body = ('{"amount": 1, "memo": ' + json.dumps(text) + "}").encode()  # JSON escapes: \u0000, \ud800
    r = c.post(
        "/api/v1/fund/contributions",
        headers={**api.auth("enterprise"), "Content-Type": "application/json"},
        content=body,
    )
    assert r.status_code in (201, 422), (r.status_code, r.text[:300])


# ------------------------------------------------------------------ rate limiting


def test_rate_limit_is_per_key_with_retry_after(env: Env, tmp_path: Any, databases: dict[str, str]) -> None:
    api = make_api(env.deployment, tmp_path, rate_limit_per_minute=5, **databases)
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
        codes = [c.get("/api/v1/members", headers=api.auth("dept_a")).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
        r = c.get("/api/v1/members", headers=api.auth("dept_a"))
        body = _problem(r, 429)
        assert int(r.headers["Retry-After"]) >= 1 and body["retry_after"] == int(r.headers["Retry-After"])
        # another key is not affected; writes count against the same bucket
        assert c.get("/api/v1/members", headers=api.auth("dept_b")).status_code == 200
        r = c.post("/api/v1/fund/contributions", headers=api.auth("dept_a"), json={"amount": 1})
        _problem(r, 429)
        # requests without a (valid) key are refused before the limiter: 401, never 429
        assert c.get("/api/v1/members").status_code == 401
        assert c.get("/api/v1/members", headers={"Authorization": "Bearer cgv_nope_nope"}).status_code == 401
