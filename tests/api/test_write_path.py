"""The path of one write, ``POST /api/v1/fund/contributions``: the files of ours on the call
stacks of its requests to the node (router → service → domain wrapper → tx pipeline → RPC),
at most eight, and how many requests it makes, so neither grows back silently."""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.testing import api_for
from ledger.fund import Fund
from ledger.rpc import NodeHttp
from ledger.testing import Deployment

pytestmark = pytest.mark.ganache

ROOT = Path(__file__).resolve().parents[2]
MOST_FILES = 8


class Requests:
    """The requests sent to the node while :meth:`watch` is active, and the files of ours on their call stacks."""

    def __init__(self) -> None:
        self.methods: Counter[str] = Counter()
        self.files: set[str] = set()

    def note(self, methods: list[str]) -> None:
        self.methods.update(methods)
        for frame in traceback.extract_stack():
            path = Path(frame.filename).resolve()
            if not path.is_relative_to(ROOT):
                continue
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(("tests/", ".venv/")):
                self.files.add(rel)

    @contextmanager
    def watch(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[Requests]:
        one, many = NodeHttp.make_request, NodeHttp.make_batch_request

        def make_request(provider: NodeHttp, method: Any, params: Any) -> Any:
            self.note([str(method)])
            return one(provider, method, params)

        def make_batch_request(provider: NodeHttp, calls: Any) -> Any:
            self.note([str(m) for m, _ in calls])
            return many(provider, calls)

        with monkeypatch.context() as m:
            m.setattr(NodeHttp, "make_request", make_request)
            m.setattr(NodeHttp, "make_batch_request", make_batch_request)
            yield self


def test_a_contribution_goes_through_at_most_eight_files(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, databases: dict[str, str]
) -> None:
    # the chain check made by the first write is reused (not timed: its second look may fall in either)
    api = api_for(deployment, tmp_path, "path", chain_check_seconds=60, **databases)
    resident = deployment.signers["resident"].address
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/fund/credit/mint", headers=api.auth("treasurer"),
                        json={"to": resident, "amount": 1_000, "deposit_ref": "PATH-1"})
        assert r.status_code == 201, r.text
        fund = Fund(deployment.ledger())
        fund.token.approve(deployment.signers["resident"], fund.address, 10**9)  # no approval on the way
        h = api.auth("resident")
        # the first one checks the API key's account (kept for a while): not the write's own path
        r = client.post("/api/v1/fund/contributions", headers=h | {"Idempotency-Key": "path-0"}, json={"amount": 1})
        assert r.status_code == 201, r.text
        with Requests().watch(monkeypatch) as seen:
            r = client.post("/api/v1/fund/contributions", headers=h | {"Idempotency-Key": "path-1"},
                            json={"amount": 2, "memo": "the path"})
        assert r.status_code == 201, r.text
    print("files:", sorted(seen.files))
    print("requests:", dict(seen.methods), sum(seen.methods.values()))
    # over PostgreSQL one sender per account across processes (ledger/tx/nonces.py's
    # SharedNonceManager) takes max(its row, the node's pending count): one file and one request more
    shared = int(databases.get("service_db_url", "").startswith("postgresql"))
    assert len(seen.files) <= MOST_FILES + shared, sorted(seen.files)
    assert {"api/routers/fund.py", "api/services/fund_writes.py", "ledger/fund/contract.py"} <= seen.files
    # one pre-flight, one send, one view for the answer (getContribution: the member's name, which no
    # change alters, was read by the first write); the rest is the receipt's polling (no account check:
    # the API key's answer is reused; no index sync: reads after the write do it). On Ganache the send
    # waits for its block before the account's next one, and asks whether the miner runs when that
    # takes over 50 ms (a loaded machine): TxPipeline._until_mined
    assert seen.methods["eth_sendRawTransaction"] == 1 and seen.methods["eth_call"] == 2, seen.methods
    assert seen.methods["eth_getTransactionCount"] == shared, seen.methods
    assert seen.methods["eth_mining"] <= 1, seen.methods
    assert set(seen.methods) <= {"eth_call", "eth_sendRawTransaction", "eth_blockNumber", "eth_getTransactionReceipt",
                                 "eth_getBlockByNumber", "eth_getTransactionCount", "eth_mining"}, seen.methods
