"""Reads for the auditor: JSON-RPC batches, batched view calls at a pinned block, log ranges.

The auditor talks to the node with plain JSON-RPC (what any auditor's node
answers) and batches its requests, so the number of round trips grows with the
number of records, divided by the batch size, never with anything else.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from ledger import artifacts
from ledger.client import Ledger, _abi_type, _normalize
from ledger.errors import ChainUnavailable

BATCH = 200
#: logs wanted per eth_getLogs answer, and the first range's width in blocks (it adapts from there)
LOGS_PER_REQUEST = 10_000
FIRST_RANGE = 16


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """``text`` with the credentials of any URL in it hidden (``scheme://***@host``): reports
    and messages name nodes and databases, never their passwords or tokens."""
    return _USERINFO.sub("***@", text)


class RpcFailed(Exception):
    """One request of a batch answered with an error (a revert, usually)."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Call:
    contract: str
    fn: str
    args: tuple[Any, ...] = ()


class Rpc:
    """Batched JSON-RPC over the ledger's current node."""

    def __init__(self, ledger: Ledger, timeout: float = 120.0) -> None:
        self.ledger = ledger
        self.timeout = timeout
        self._session = requests.Session()
        self._ids = itertools.count(1)
        self._fns: dict[tuple[str, str], dict[str, Any]] = {}
        self.addresses: dict[str, str] = {}
        self.requests = 0

    @property
    def url(self) -> str:
        """The node the ledger is on now (it moves to the next URL when one stops answering)."""
        return self.ledger.url

    def _post_to(self, url: str, body: list[dict[str, Any]]) -> Any:
        resp = self._session.post(
            url, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=self.timeout
        )
        resp.raise_for_status()
        return resp.json()

    def _post(self, body: list[dict[str, Any]], url: str | None = None) -> Any:
        """POST a batch to ``url``, or to the current node: when it does not answer, fail over
        once per other node (a given ``url`` has no fail-over: ChainUnavailable)."""
        if url is not None:
            try:
                return self._post_to(url, body)
            except (requests.RequestException, ValueError) as exc:
                raise ChainUnavailable(url, f"batch of {len(body)} requests: {exc}") from exc
        tried: set[str] = set()
        while True:
            url = self.url
            tried.add(url)
            try:
                return self._post_to(url, body)
            except (requests.RequestException, ValueError) as exc:
                error = exc
            with contextlib.suppress(ChainUnavailable):
                self.ledger.block_number()  # the ledger's fail-over moves it to a node that answers
            if self.url in tried:
                raise ChainUnavailable(url, f"batch of {len(body)} requests: {error}") from error

    def one(self, method: str, params: list[Any]) -> Any:
        return self.batch([(method, params)])[0]

    def batch(
        self, calls: Sequence[tuple[str, list[Any]]], *, raise_errors: bool = True, url: str | None = None
    ) -> list[Any]:
        """Answers in the order asked; an answer that is an error raises (or is returned as RpcFailed).
        ``url``: ask that node only (no fail-over), e.g. to compare nodes."""
        out: list[Any] = []
        for i in range(0, len(calls), BATCH):
            chunk = calls[i : i + BATCH]
            ids = [next(self._ids) for _ in chunk]
            body = [{"jsonrpc": "2.0", "id": n, "method": m, "params": p} for n, (m, p) in zip(ids, chunk, strict=True)]
            answers = self._post(body, url)
            self.requests += 1
            if isinstance(answers, dict):  # a node that refuses batches answers one error object
                raise ChainUnavailable(url or self.url, f"batch refused: {answers.get('error')}")
            by_id = {a.get("id"): a for a in answers}
            for n in ids:
                a = by_id.get(n)
                if a is None:
                    raise ChainUnavailable(url or self.url, f"no answer to request {n} of a batch")
                if a.get("error") is not None:
                    if raise_errors:
                        raise RpcFailed(a["error"])
                    out.append(RpcFailed(a["error"]))
                else:
                    out.append(a.get("result"))
        return out

    # ------------------------------------------------------------------ views

    def _fn(self, contract: str, fn: str) -> dict[str, Any]:
        key = (contract, fn)
        abi = self._fns.get(key)
        if abi is None:
            matches = [i for i in artifacts.abi(contract) if i.get("type") == "function" and i["name"] == fn]
            if not matches:
                raise KeyError(f"{contract} has no function {fn}")
            abi = self._fns[key] = matches[0]
        return abi

    def calls(self, calls: Sequence[Call], block: int | Sequence[int]) -> list[Any]:
        """View calls at ``block`` (or each at its own block), batched; a reverted call gives an
        :class:`RpcFailed` in its place."""
        blocks = [block] * len(calls) if isinstance(block, int) else list(block)
        requests_: list[tuple[str, list[Any]]] = []
        for c, blk in zip(calls, blocks, strict=True):
            abi = self._fn(c.contract, c.fn)
            types = [_abi_type(i) for i in abi["inputs"]]
            selector = keccak(text=f"{abi['name']}({','.join(types)})")[:4]
            data = selector + encode(types, list(c.args))
            requests_.append(("eth_call", [{"to": self.addresses[c.contract], "data": "0x" + data.hex()}, hex(blk)]))
        answers = self.batch(requests_, raise_errors=False)
        out: list[Any] = []
        for c, raw in zip(calls, answers, strict=True):
            if isinstance(raw, RpcFailed):
                out.append(raw)
                continue
            abi = self._fn(c.contract, c.fn)
            try:
                values = decode([_abi_type(o) for o in abi["outputs"]], bytes.fromhex(raw[2:]))
            except Exception as exc:  # code at the address is not this contract
                out.append(RpcFailed(f"undecodable answer: {exc}"))
                continue
            values = tuple(_normalize(v, o) for v, o in zip(values, abi["outputs"], strict=True))
            out.append(values[0] if len(values) == 1 else values)
        return out

    def headers(self, numbers: Sequence[int]) -> dict[int, dict[str, Any]]:
        answers = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return {n: a for n, a in zip(numbers, answers, strict=True) if a}

    def get_logs(
        self,
        addresses: list[str],
        frm: int,
        to: int,
        step: int,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Every log of ``addresses`` in ``[frm, to]`` (see :meth:`iter_logs`)."""
        logs: list[dict[str, Any]] = []
        for _start, end, got in self.iter_logs(addresses, frm, to, step):
            logs.extend(got)
            if progress is not None:
                progress(end - frm + 1, len(logs))
        return logs

    def iter_logs(
        self, addresses: list[str], frm: int, to: int, step: int, target: int = LOGS_PER_REQUEST
    ) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
        """``(first block, last block, logs)`` of ``addresses`` for consecutive ranges covering ``[frm, to]``.

        A range holds at most ``step`` blocks and is sized from the density of the
        previous answer to bring about ``target`` logs (growing at most twofold), so
        answers stay bounded instead of growing with the chain: a dense chain is read
        in many bounded requests, a sparse one in few. Only where a sparse stretch
        turns dense can one answer exceed the target (by at most twice the previous
        range's width of dense blocks). A range the node refuses is halved.
        """
        start = frm
        span = max(1, min(step, FIRST_RANGE))
        while start <= to:
            end = min(to, start + span - 1)
            try:
                got = self.one("eth_getLogs", [{"address": addresses, "fromBlock": hex(start), "toBlock": hex(end)}])
            except RpcFailed:
                if end == start:
                    raise
                span = max(1, (end - start + 1) // 2)
                continue
            got = got or []
            yield start, end, got
            width = end - start + 1
            wanted = width * target // len(got) if got else width * 2
            span = max(1, min(step, width * 2, wanted))  # grow at most 2x: a denser stretch overshoots little
            start = end + 1
