"""JSON-RPC transport: HTTP with fail-over across several nodes.

Transport is kept apart from contract code (as web3.py's providers only
implement ``make_request``). With several RPC URLs the provider sticks to one
node and moves to the next only when it stops answering.

Fail-over never duplicates a transaction: the ledger signs each transaction
once, with one nonce, and only ever re-sends those same signed bytes. A signed
transaction has one hash and can be included on chain once, whichever node
relays it. And a node that may have taken a transaction without answering (the
connection closed, the answer timed out) gets no second copy relayed behind its
back: before the bytes go to the next node, that node is asked for the hash, and
if it knows it (pending or mined) that is the answer. Whatever the next node
answers otherwise (e.g. "nonce too low" once the first copy is mined) the ledger
settles before it signs anything (:meth:`ledger.client.Ledger.rebroadcast`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
from eth_utils import keccak
from web3 import HTTPProvider
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.errors import ChainUnavailable, redact_url

log = logging.getLogger("ledger.transport")

_CONNECTION_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
)


# Requests that are safe to repeat and normally answer in milliseconds. They get a
# short timeout and are retried: Ganache 7 occasionally never answers one
# eth_estimateGas among many concurrent ones (seen ~1 in 300 under 20 concurrent
# senders, in both instamine modes) while it keeps answering the others.
_QUICK_METHODS = frozenset(
    {
        "eth_estimateGas",
        "eth_call",
        "eth_chainId",
        "eth_blockNumber",
        "eth_gasPrice",
        "eth_getTransactionCount",
        "eth_getTransactionReceipt",
        "eth_getTransactionByHash",
        "eth_getCode",
        "eth_getBalance",
        "web3_clientVersion",
        "net_version",
    }
)


class FailoverProvider(JSONBaseProvider):
    """An HTTP provider over one or more node URLs."""

    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = 30.0,
        quick_timeout: float = 8.0,
        quick_retries: int = 2,
    ) -> None:
        super().__init__()
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.urls = list(urls)
        # Credentials in a URL (http://user:pass@node) travel as basic auth, never in the URL
        # web3 logs; logs and errors name the node without them.
        self._shown = [redact_url(u) for u in self.urls]
        self._providers = [_http(u, timeout) for u in self.urls]
        self._quick = [_http(u, min(quick_timeout, timeout)) for u in self.urls]
        self.quick_retries = quick_retries
        self._current = 0
        self._lock = threading.Lock()

    @property
    def current_url(self) -> str:
        return self.urls[self._current]

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        quick = method in _QUICK_METHODS
        pool = self._quick if quick else self._providers
        start = self._current
        last: BaseException | None = None
        attempts = len(pool) * (1 + self.quick_retries) if quick else len(pool)
        for step in range(attempts):
            index = (start + step) % len(pool)
            if last is not None and method == "eth_sendRawTransaction":
                # The node before may have taken it: if this one has it already, do not relay it again.
                known = self._known_to(index, params)
                if known is not None:
                    self._move_to(index)
                    return known
            try:
                response = pool[index].make_request(method, params)
            except requests.exceptions.ReadTimeout as exc:
                # The node is up but did not answer this one request in time.
                last = exc
                log.warning("node %s did not answer %s in time; retrying", self._shown[index], method)
                continue
            except _CONNECTION_ERRORS as exc:
                last = exc
                log.warning("node %s did not answer %s; trying the next", self._shown[index], method)
                continue
            self._move_to(index)
            return response
        raise ChainUnavailable(
            ", ".join(self._shown), type(last).__name__ if last else "no answer"
        ) from last

    def _move_to(self, index: int) -> None:
        if index != self._current:
            with self._lock:
                self._current = index
            log.info("failed over to %s", self._shown[index])

    def _known_to(self, index: int, params: Any) -> RPCResponse | None:
        """The answer to ``eth_sendRawTransaction(params)`` if node ``index`` has that transaction:
        mined (its receipt) or pending (in its pool, no block). A lookup entry alone is not enough
        (Ganache killed mid-block keeps entries of transactions whose block it lost)."""
        tx_hash = "0x" + keccak(hexstr=str(params[0])).hex()
        try:
            found = self.request_at(index, "eth_getTransactionReceipt", [tx_hash])
            if not found.get("result"):
                found = self.request_at(index, "eth_getTransactionByHash", [tx_hash])
                if not found.get("result") or found["result"].get("blockNumber") is not None:
                    return None
        except ChainUnavailable:
            return None
        log.warning("node %s already has transaction %s: not relaying it again", self._shown[index], tx_hash)
        return RPCResponse(jsonrpc="2.0", id=found.get("id", 0), result=tx_hash)

    def request_at(self, index: int, method: str, params: Any) -> RPCResponse:
        """One quick request to node ``index`` alone (no fail-over, no retries, the current node stays).

        For questions whose answer may differ between nodes (does this one know a transaction?);
        :class:`ChainUnavailable` when that node does not answer.
        """
        try:
            return self._quick[index].make_request(RPCEndpoint(method), params)
        except _CONNECTION_ERRORS as exc:
            raise ChainUnavailable(self._shown[index], type(exc).__name__) from exc

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            self.make_request(RPCEndpoint("eth_chainId"), [])
        except ChainUnavailable:
            return False
        return True


def _http(url: str, timeout: float) -> HTTPProvider:
    """web3's HTTP provider for ``url``, its user and password (if any) sent as basic auth."""
    parts = urlsplit(url)
    user, _, password = parts.netloc.rpartition("@")[0].partition(":")
    kwargs: dict[str, Any] = {"timeout": timeout}
    if "@" in parts.netloc:
        kwargs["auth"] = (unquote(user), unquote(password))
        url = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))
    return HTTPProvider(url, request_kwargs=kwargs, exception_retry_configuration=None)
