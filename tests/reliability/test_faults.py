"""Faults with real processes on loopback: the node killed under load, the API killed mid-write,
the index lost or corrupted, the chain replaced under the service. Each test is bounded in time.

How "exactly once" is counted:

* contributions carry a unique memo (its keccak256 is the on-chain ``memoHash``) and a unique
  ``Idempotency-Key``: every acknowledged one is exactly one ``ContributionReceived`` event, and
  after the retries every request is on chain exactly once (none missing, none twice);
* gateway fetches are GETs (no idempotency key; each attempt is a new access): every 2xx names its
  transaction, which holds exactly one ``AccessRecorded`` event, no two 2xx share one, and the
  events on the grant are at least the 2xx answers and at most the attempts (an attempt whose
  answer was lost to the outage may still have been recorded: the log never under-reports).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ledger.fund.docs import DocStore
from tests.api.conftest import Api, LiveServer
from tests.conftest import LOG_DIR
from tests.postgresql import DAMAGES, damage_index
from tests.reliability.env import (
    ApiProcess,
    Env,
    chain_events,
    fund_contributors,
    make_api,
    master_key_secret,
    private_env,
    problem,
    shared_dataset,
)
from tests.rpc_proxy import RpcProxy

pytestmark = [pytest.mark.ganache, pytest.mark.slow]

CONTRIBUTORS = ["resident", "enterprise", "committee_a", "committee_b", "committee_c", "c1"]


def _memo_events(env: Env) -> Counter[str]:
    events = chain_events(env.deployment.ledger(), "CoGovFund", "ContributionReceived")
    return Counter(_hex(e.args["memoHash"]) for e in events)


def _hex(v: object) -> str:
    return "0x" + v.hex() if isinstance(v, bytes) else str(v).lower()


def _on_chain(events: Counter[str], api: Api, memo: str) -> int:
    """How many contributions carry ``memo``: memos are salted commitments now, found through the
    texts the service keeps (pending ones too: persisted before their transaction left)."""
    return sum(events[h] for h in DocStore.open(api.settings.service_db_url).hashes_of("memo", memo))


# ------------------------------------------------------------------ 1. node killed under load


@pytest.fixture(scope="module")
def load_env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """A chain of its own: what a crash leaves in the node's pool must not reach other tests."""
    return private_env("load", tmp_path_factory.getbasetemp())


@pytest.mark.timeout(240)
def test_node_killed_under_load(load_env: Env, tmp_path: Path, databases: dict[str, str]) -> None:
    """Ganache killed with ``kill -9`` under 12 contributors and 4 fetchers, then started again: every
    acknowledged write on chain exactly once. The service database and the index on SQLite, then on
    PostgreSQL (the same chain: each run's writes are told apart by their memos and their grant)."""
    rel = load_env
    d = rel.deployment
    api = make_api(d, tmp_path / "api", receipt_timeout=5.0, **databases)
    fund_contributors(d, CONTRIBUTORS)
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
        share = shared_dataset(d, c, api)
    did, gid = share["dataset"]["id"], share["grant"]["id"]

    per_client = 4
    lock = threading.Lock()
    acked: dict[str, dict[str, Any]] = {}  # idempotency key -> first 2xx body
    memos: dict[str, str] = {}  # idempotency key -> memo
    fetch_ok: list[str] = []  # tx hashes of 2xx fetches
    fetch_attempts = Counter[str]()
    bad: list[str] = []  # answers that were neither 2xx nor a clear 503
    seen_503 = threading.Event()
    done = Counter[str]()
    deadline = time.monotonic() + 120

    trail: list[str] = []

    def judge(r: httpx.Response) -> bool:
        """True when the answer is a success; records anything unclear."""
        with lock:
            trail.append(
                f"{time.monotonic():.1f} {r.request.method} {r.request.url.path} {r.status_code} {r.text[:160]}"
            )
        if r.status_code < 300:
            return True
        if (
            r.status_code == 503
            and r.headers.get("Retry-After")
            and "problem+json" in r.headers.get("content-type", "")
        ):
            seen_503.set()
            return False
        if r.status_code == 409 and "in progress" in r.text:
            return False
        with lock:
            bad.append(f"{r.request.method} {r.request.url.path} -> {r.status_code}: {r.text[:300]}")
        return False

    def contributor(label: str, n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as h:
            for i in range(per_client):
                key = f"load-{label}-{n}-{i}-{secrets.token_hex(4)}"
                memo = f"压力测试 contribution {key}"
                with lock:
                    memos[key] = memo
                body = {"amount": 100 + i, "memo": memo}
                while time.monotonic() < deadline:
                    try:
                        r = h.post(
                            "/api/v1/fund/contributions", json=body, headers={**api.auth(label), "Idempotency-Key": key}
                        )
                    except httpx.TransportError as exc:
                        with lock:
                            bad.append(f"transport error {exc!r}")
                        break
                    if judge(r):
                        with lock:
                            acked.setdefault(key, r.json())
                            done["writes"] += 1
                        break
                    time.sleep(min(float(r.headers.get("Retry-After", "1")), 0.5))

    def fetcher(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as h:
            for _ in range(per_client):
                while time.monotonic() < deadline:
                    with lock:
                        fetch_attempts["n"] += 1
                    r = h.get(
                        f"/api/v1/datasets/{did}/data", params={"fields": "district,age"}, headers=api.auth("dept_b")
                    )
                    if judge(r):
                        with lock:
                            fetch_ok.append(r.json()["tx"]["tx_hash"])
                            done["writes"] += 1
                        break
                    time.sleep(min(float(r.headers.get("Retry-After", "1")), 0.5))

    with LiveServer(api.settings) as server:
        threads = [threading.Thread(target=contributor, args=(CONTRIBUTORS[i % 6], i)) for i in range(12)]
        threads += [threading.Thread(target=fetcher, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        total = 16 * per_client
        while done["writes"] < total // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        in_flight_at_kill = done["writes"]
        t_kill = time.monotonic()
        d.ganache.kill()  # kill -9, mid-load
        seen_503.wait(20)
        time.sleep(1.0)
        d.ganache.start()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.monotonic() + 5))
        (LOG_DIR / "load-trail.txt").write_text("\n".join([*trail, f"{t_kill:.1f} KILL"]), encoding="utf-8")
        assert not any(t.is_alive() for t in threads), ("clients did not finish in time", done, trail[-10:])

        t_done = time.monotonic()
        assert not bad, bad
        assert seen_503.is_set(), "the outage was never reported as 503"
        assert 0 < in_flight_at_kill < total
        assert len(acked) == 12 * per_client and len(fetch_ok) == 4 * per_client

        # contributions: every acknowledged one exactly once, none missing, none twice
        on_chain = _memo_events(rel)
        for key, memo in memos.items():
            assert _on_chain(on_chain, api, memo) == 1, (key, _on_chain(on_chain, api, memo))
        by_receipt = Counter(b["contribution"]["receipt_id"] for b in acked.values())
        assert max(by_receipt.values()) == 1

        # a retry after the storm replays the first answer and writes nothing
        led = d.ledger()
        height = led.block_number()
        with httpx.Client(base_url=server.url, timeout=60) as h:
            for key in list(acked)[:5]:
                label = next(lb for lb in CONTRIBUTORS if key.startswith(f"load-{lb}-"))
                r = h.post(
                    "/api/v1/fund/contributions",
                    json={"amount": 100 + int(key.split("-")[-2]), "memo": memos[key]},
                    headers={**api.auth(label), "Idempotency-Key": key},
                )
                assert r.status_code == 201 and r.json() == acked[key]
        assert led.block_number() == height

    # fetches: each 2xx is one AccessRecorded on chain; the log never under-reports
    recorded = [e for e in chain_events(led, "DataSharing", "AccessRecorded") if int(e.args["grantId"]) == gid]
    per_tx = Counter(e.tx_hash for e in recorded)
    assert len(set(fetch_ok)) == len(fetch_ok)
    for tx in fetch_ok:
        assert per_tx[tx] == 1, tx
    assert len(fetch_ok) <= len(recorded) <= fetch_attempts["n"]
    _report(
        "node killed under load",
        writes=len(memos) + len(fetch_ok),
        fetch_attempts=fetch_attempts["n"],
        extra_accesses=len(recorded) - len(fetch_ok),
        before_kill=in_flight_at_kill,
        recovery_s=round(t_done - t_kill, 1),
    )


@pytest.mark.timeout(120)
def test_a_transaction_lost_with_a_restarted_node_goes_again_as_soon_as_it_answers(
    load_env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A transaction waits in the node's pool when the node is killed (kill -9: the pool is lost).
    The waiter's check finds no node; it looks again every RECHECK_WHILE_DOWN seconds, so the same
    bytes go as soon as the node is back, within the same wait, rather than a whole RESEND_AFTER
    later (made 60 s here, so that without the quick re-check the 40 s wait would end first)."""
    import ledger.tx.pipeline as pipeline
    from ledger.client import ContractCall

    monkeypatch.setattr(pipeline, "RESEND_AFTER", 60.0)
    d = load_env.deployment
    led = d.ledger(receipt_timeout=40.0)
    signer = d.signers["outsider"]
    before = int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16)
    outcome: list[object] = []

    def wait() -> None:
        try:
            outcome.append(pending.wait())
        except Exception as exc:  # the assertion below names it
            outcome.append(exc)

    led.rpc("miner_stop")  # the transaction stays in the pool until the node dies
    try:
        pending = led.send(signer, ContractCall("0x000000000000000000000000000000000000dEaD", "0x", value=1))
        d.ganache.kill()
        with caplog.at_level("WARNING", logger="ledger.tx.pipeline"):
            waiter = threading.Thread(target=wait)
            waiter.start()
            deadline = time.monotonic() + 30
            while not any(f"re-sending {pending.tx_hash} failed" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline and waiter.is_alive(), outcome  # its first check (at 20 s) failed
                time.sleep(0.1)
            d.ganache.start()  # its pool empty, its miner running
            waiter.join(60)
    finally:
        d.ganache.start()  # up for the module's other tests whatever happened (a no-op when it runs)
        led.rpc("miner_start")
    assert outcome and getattr(outcome[0], "tx_hash", None) == pending.tx_hash, outcome
    assert any("sending the same bytes again" in r.getMessage() for r in caplog.records)
    assert int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16) == before + 1


@pytest.mark.timeout(120)
def test_fetches_behind_a_held_access_record_complete_within_a_short_receipt_wait(rel: Env, tmp_path: Path) -> None:
    """Ganache 7.9.2 now and then keeps an accepted transaction in its pool, unmined, while it says it
    mines; the account's later nonces wait behind it and only a new block mines it. A gateway fetch
    signs a new ``recordAccess`` on every attempt, all from the owner's one account, and Ganache's
    ``pending`` count leaves its pool out: once the contributions were over (no other sender's block
    to mine it), every later fetch queued behind the held one and timed out, unless a waiter asked
    for a block before its receipt wait ended. With the API's wait shorter than the pipeline's first
    check (``receipt_timeout`` 5 s, the check at 5 s) no waiter ever did: the 7 fetches of
    ``test_node_killed_under_load`` that failed until its deadline. Here the node's miner is stopped
    and a proxy says it mines (every transaction held); the receipt wait is 2 s."""
    d = rel.deployment
    node = d.ledger()
    with RpcProxy(d.ganache.config.url, answers={"eth_mining": True}) as proxy:
        api = make_api(d, tmp_path / "api", rpc_urls=[proxy.url], receipt_timeout=2.0)
        with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
            share = shared_dataset(d, c, api)
            did, gid = share["dataset"]["id"], share["grant"]["id"]
            served: list[str] = []
            node.rpc("miner_stop")
            try:
                for _ in range(3):
                    r = c.get(
                        f"/api/v1/datasets/{did}/data",
                        params={"fields": "district,age", "grant_id": gid},
                        headers=api.auth("dept_b"),
                    )
                    assert r.status_code == 200, r.text
                    served.append(r.json()["tx"]["tx_hash"])
            finally:
                node.rpc("miner_start")
    recorded = Counter(
        e.tx_hash for e in chain_events(node, "DataSharing", "AccessRecorded") if int(e.args["grantId"]) == gid
    )
    assert len(set(served)) == 3 and all(recorded[h] == 1 for h in served), (served, recorded)


def _report(title: str, **numbers: object) -> None:
    import logging

    logging.getLogger("tests.reliability").info("%s: %s", title, numbers)
    with open(LOG_DIR / "reliability-report.txt", "a", encoding="utf-8") as f:
        f.write(f"{title}: {numbers}\n")


# ------------------------------------------------------------------ 2. API killed mid-write


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["hang", "swallow"])
def test_api_killed_after_sending(rel: Env, tmp_path: Path, mode: str, databases: dict[str, str]) -> None:
    """``hang``: the transaction reached the node, the answer never came back. ``swallow``: it was
    signed and persisted but never reached the node (start-up reconciliation sends it). The
    service database on SQLite, then on PostgreSQL."""
    d = rel.deployment
    label = "enterprise"
    fund_contributors(d, [label])
    api = make_api(d, tmp_path / "api", **databases)
    led = d.ledger()
    memo = f"崩溃 mid-write {mode} {secrets.token_hex(4)}"
    key = f"crash-{mode}-{secrets.token_hex(6)}"
    body = {"amount": 4321, "memo": memo}
    headers = {**api.auth(label), "Idempotency-Key": key}

    with RpcProxy(d.ganache.config.url, mode=mode) as proxy:
        first = ApiProcess(api.settings.model_copy(update={"rpc_urls": [proxy.url]}), f"crash-{mode}-1").start()
        try:
            answer: list[Any] = []

            def post() -> None:
                try:
                    answer.append(
                        httpx.post(first.url + "/api/v1/fund/contributions", json=body, headers=headers, timeout=60)
                    )
                except httpx.TransportError as exc:
                    answer.append(exc)

            t = threading.Thread(target=post, daemon=True)
            t.start()
            assert proxy.sent.wait(60), "the API never sent the transaction"
            first.kill9()  # after the send, before the answer
            t.join(timeout=10)
            assert answer and isinstance(answer[0], httpx.TransportError)  # the client never got an answer
        finally:
            first.stop()
    assert len(proxy.raw) == 1
    sent_hash = "0x" + __import__("eth_utils").keccak(hexstr=proxy.raw[0]).hex()
    if mode == "hang":  # it reached the node: it is mined, though nobody was told
        deadline = time.monotonic() + 15
        while led.receipt(sent_hash) is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _on_chain(_memo_events(rel), api, memo) == (1 if mode == "hang" else 0)

    # restart pointed straight at the node: reconciliation (re)sends the persisted signed bytes
    with ApiProcess(api.settings, f"crash-{mode}-2") as second:
        deadline = time.monotonic() + 30
        while led.receipt(sent_hash) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert led.receipt(sent_hash) is not None, "the signed transaction never landed"
        height = led.block_number()
        with httpx.Client(base_url=second.url, timeout=60) as h:
            r = h.post("/api/v1/fund/contributions", json=body, headers=headers)
            assert r.status_code == 201, r.text
            assert r.json()["tx"]["tx_hash"] == sent_hash  # the original transaction's result
            again = h.post("/api/v1/fund/contributions", json=body, headers=headers)
            assert again.status_code == 201 and again.json() == r.json()
        assert led.block_number() == height  # no second transaction
    assert _on_chain(_memo_events(rel), api, memo) == 1
    master_key_secret(api.settings)


# ------------------------------------------------------------------ 3. index lost or corrupted




def _snapshot(h: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    out = {}
    for path in (
        "/api/v1/fund/contributions?limit=500",
        "/api/v1/access-log?limit=500",
        "/api/v1/grants?limit=500",
        "/api/v1/datasets?limit=500",
        "/api/v1/fund/summary",
        "/api/v1/members?limit=500",
    ):
        r = h.get(path, headers=auth)
        assert r.status_code == 200, (path, r.text)
        out[path] = r.json()
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("damage", DAMAGES)
def test_index_lost_heals_with_the_follower(rel: Env, tmp_path: Path, damage: str, databases: dict[str, str]) -> None:
    api = make_api(rel.deployment, tmp_path / "api", index_follow=True, index_poll_interval=0.2, **databases)
    with LiveServer(api.settings) as server, httpx.Client(base_url=server.url, timeout=60) as h:
        _wait_health(h, "ok", 30)
        before = _snapshot(h, api.auth("auditor"))
        damage_index(api.settings.index_db_url, damage)
        _wait_health(h, "ok", 30)  # rebuilt from the chain within a bounded time
        assert _snapshot(h, api.auth("auditor")) == before


@pytest.mark.timeout(120)
@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_index_lost_without_follower_is_degraded_until_a_write(
    rel: Env, tmp_path: Path, damage: str, databases: dict[str, str]
) -> None:
    d = rel.deployment
    fund_contributors(d, ["resident"])
    api = make_api(d, tmp_path / "api", index_follow=False, **databases)
    with LiveServer(api.settings) as server, httpx.Client(base_url=server.url, timeout=60) as h:
        _wait_health(h, "ok", 10)
        before = _snapshot(h, api.auth("auditor"))
        damage_index(api.settings.index_db_url, damage)
        r = h.get("/api/v1/health")
        assert r.status_code == 200 and r.json()["status"] == "degraded", r.text
        assert r.json()["index"]["available"] is False and r.json()["index"]["problem"]
        assert h.get("/api/v1/health").json()["status"] == "degraded"  # stays so: nothing heals it by itself
        # a write catches the index up, rebuilding it from the chain
        w = h.post(
            "/api/v1/fund/contributions",
            json={"amount": 5, "memo": "重建 index"},
            headers={**api.auth("resident"), "Idempotency-Key": f"heal-{secrets.token_hex(6)}"},
        )
        assert w.status_code == 201, w.text
        _wait_health(h, "ok", 10)
        after = _snapshot(h, api.auth("auditor"))
        contributions = after.pop("/api/v1/fund/contributions?limit=500")
        old = before.pop("/api/v1/fund/contributions?limit=500")
        assert contributions["count"] == old["count"] + 1 and contributions["data"][1:] == old["data"]
        after.pop("/api/v1/fund/summary")
        before.pop("/api/v1/fund/summary")
        assert after == before


def _wait_health(h: httpx.Client, status: str, timeout: float) -> dict[str, Any]:
    """Wait for ``status`` (and, for ok, an index at the chain head)."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = h.get("/api/v1/health").json()
        if body["status"] == status and (status != "ok" or body["index"]["lag"] == 0):
            return body
        time.sleep(0.1)
    raise AssertionError(f"health never became {status}: {body}")


# ------------------------------------------------------------------ 4. chain replaced


@pytest.mark.timeout(120)
def test_replaced_chain_refuses_writes(
    rel: Env, tmp_path: Path, ganache_factory: Any, databases: dict[str, str]
) -> None:
    other = ganache_factory("other")  # another genesis (and nothing deployed)
    d = rel.deployment
    api = make_api(d, tmp_path / "api", rpc_urls=[other.config.url], **databases)
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
        writes = [
            ("post", "/api/v1/fund/contributions", "resident", {"json": {"amount": 1}}),
            (
                "post",
                "/api/v1/fund/credit/mint",
                "treasurer",
                {"json": {"to": d.signers["resident"].address, "amount": 1, "deposit_ref": "BANK-1"}},
            ),
            (
                "post",
                "/api/v1/access-requests",
                "dept_b",
                {"json": {"dataset_id": 1, "purpose_code": 1, "purpose": "x", "duration": 60}},
            ),
            ("get", "/api/v1/datasets/1/data", "dept_b", {}),
        ]
        for method, path, label, kw in writes:
            r = getattr(c, method)(path, headers={**api.auth(label), "Idempotency-Key": secrets.token_hex(6)}, **kw)
            assert r.status_code == 503, (path, r.status_code, r.text)
            p = problem(r)  # type: ignore[arg-type]
            assert "genesis" in p["detail"] or "chain id" in p["detail"], p
            assert p["code"] in ("chain-mismatch", "deployment-mismatch") and r.headers["Retry-After"]
        health = c.get("/api/v1/health").json()
        assert health["status"] == "degraded" and health["deployment"]["matches"] is False
        assert "genesis" in (health["deployment"]["problem"] or "") or "chain id" in (
            health["deployment"]["problem"] or ""
        )
    # nothing reached the replacement chain
    from ledger.client import Ledger

    assert Ledger(other.config.url).block_number() == 0
