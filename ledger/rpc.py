"""JSON-RPC: one client over HTTP with fail-over across several nodes.

Everything in ``ledger`` that speaks JSON-RPC goes through :class:`RpcClient`:
:meth:`~RpcClient.request` (one call, an error answer raised as :class:`RpcError`),
:meth:`~RpcClient.batch` (several calls in one HTTP request, answers matched by id,
each error kept in its place) and :meth:`~RpcClient.request_at` (one node alone, for
the questions whose answer may differ between nodes).

Transport is kept apart from contract code (as web3.py's providers only implement
``make_request``): :class:`FailoverProvider` is the transport underneath. With
several RPC URLs it sticks to one node and moves to the next only when it stops
answering.

Fail-over never duplicates a transaction: the ledger signs each transaction
once, with one nonce, and only ever re-sends those same signed bytes. A signed
transaction has one hash and can be included on chain once, whichever node
relays it. And a node that may have taken a transaction without answering (the
connection closed, the answer timed out) gets no second copy relayed behind its
back: before the bytes go to the next node, that node is asked for the hash, and
if it knows it (pending or mined) that is the answer. Whatever the next node
answers otherwise (e.g. "nonce too low" once the first copy is mined) the ledger
settles before it signs anything (:mod:`ledger.tx.pipeline`).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import select
import threading
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import requests
from eth_utils import keccak
from web3._utils.encoding import Web3JsonEncoder
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.abi import decode_revert, revert_data_from_exception
from ledger.errors import ChainUnavailable, LedgerError, RpcError, TransactionFailed, redact_url

log = logging.getLogger("ledger.rpc")

__all__ = ["FailoverProvider", "RpcClient", "RpcError", "out_of_gas", "quantity", "revert_data", "revert_from"]

_CONNECTION_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
    http.client.HTTPException,  # a malformed or cut answer: the node did not answer this request
    OSError,
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
    """An HTTP provider over one or more node URLs (what web3 and :class:`RpcClient` send through)."""

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
        self._providers = [NodeHttp(u, timeout) for u in self.urls]
        self._quick = [NodeHttp(u, min(quick_timeout, timeout)) for u in self.urls]
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
            except TimeoutError as exc:
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

    def batch_request(self, calls: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        """One JSON-RPC batch to the current node (web3 sorts the answers by id: request order).
        No fail-over here: :meth:`RpcClient.batch` falls back to single requests, which fail over."""
        return self._providers[self._current].make_batch_request(calls)

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


class RpcClient:
    """JSON-RPC over :class:`FailoverProvider`: single requests, batches, one node at a time.

    Args:
        urls: One URL or several (fail-over in order).
        timeout: Seconds for a request (quick methods get at most ``quick_timeout``).
        quick_retries: How often a quick method is retried on a node that did not answer in time.
    """

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        timeout: float = 30.0,
        quick_timeout: float = 8.0,
        quick_retries: int = 2,
    ) -> None:
        self.provider = FailoverProvider(
            [urls] if isinstance(urls, str) else list(urls),
            timeout=timeout,
            quick_timeout=quick_timeout,
            quick_retries=quick_retries,
        )
        #: Requests that reached no node (:class:`ChainUnavailable`) so far: a node restarted or
        #: replaced shows as one first (the ledger re-checks the chain's identity after one).
        self.failures = 0
        self._batch_ok = True

    @property
    def urls(self) -> list[str]:
        return self.provider.urls

    @property
    def url(self) -> str:
        """The node requests go to now (the last one that answered)."""
        return self.provider.current_url

    def request(self, method: str, params: Sequence[Any] | None = None) -> Any:
        """One request, with fail-over: its result; :class:`RpcError` for an error answer,
        :class:`ChainUnavailable` when no node answers."""
        try:
            response = self.provider.make_request(RPCEndpoint(method), list(params or []))
        except ChainUnavailable:
            self.failures += 1
            raise
        return _result(response)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several requests in one HTTP request: the results in order, an :class:`RpcError` in the
        place of each error answer.

        Falls back to one request per call (with fail-over) when the node or the transport
        has no batch support, or the node did not answer the batch.
        """
        if len(calls) > 1 and self._batch_ok:
            try:
                answers = self.provider.batch_request([(RPCEndpoint(m), list(p)) for m, p in calls])
            except Exception:  # no batch support, or connection errors: the per-call path fails over
                pass
            else:
                if isinstance(answers, list) and len(answers) == len(calls):
                    return [_outcome(a) for a in answers]
                self._batch_ok = False  # a node that answers a batch with one error
        out: list[Any] = []
        for m, p in calls:
            try:
                out.append(self.request(m, p))
            except RpcError as exc:
                out.append(exc)
        return out

    def request_at(self, node: int, method: str, params: Sequence[Any]) -> Any:
        """One request to node ``node`` (an index into :attr:`urls`) alone: its result, or
        :class:`RpcError`; :class:`ChainUnavailable` when that node does not answer."""
        return _result(self.provider.request_at(node, method, list(params)))

    # ------------------------------------------------------------------ typed questions

    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def client_version(self) -> str:
        return str(self.request("web3_clientVersion"))

    def transaction_count(self, address: str, block: str = "latest") -> int:
        """``address``'s transaction count at ``block``: the next nonce the chain there expects."""
        return int(self.request("eth_getTransactionCount", [address, block]), 16)

    def call(self, tx: dict[str, Any], block: str | int = "latest") -> str:
        """``eth_call``: the return data of ``tx`` simulated at ``block``; :class:`RpcError` for a revert."""
        return str(self.request("eth_call", [tx, hex(block) if isinstance(block, int) else block]))

    def calls(self, calls: Sequence[tuple[dict[str, Any], str | int]]) -> list[Any]:
        """Several ``eth_call``s (each ``(tx, block)``) in one batch: the return data in order,
        an :class:`RpcError` in the place of each refused one."""
        return self.batch([("eth_call", [tx, hex(b) if isinstance(b, int) else b]) for tx, b in calls])

    def block(self, number: int | str, *, full: bool = False) -> dict[str, Any] | None:
        """The block ``number`` (or ``"latest"``), its transactions as hashes (``full``: as objects)."""
        found: dict[str, Any] | None = self.request(
            "eth_getBlockByNumber", [hex(number) if isinstance(number, int) else number, full]
        )
        return found

    def latest_time(self) -> int:
        """The latest block's timestamp (Unix seconds): the chain's present as far as it has one."""
        head = self.block("latest")
        if head is None:
            raise ChainUnavailable(self.url, "no latest block")
        return int(str(head["timestamp"]), 16)

    def code(self, address: str, block: str = "latest") -> str | None:
        """The runtime code at ``address`` (``0x`` when there is none)."""
        found = self.request("eth_getCode", [address, block])
        return None if found is None else str(found)

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """The transaction ``tx_hash`` as the node knows it (pending or mined), or None."""
        found: dict[str, Any] | None = self.request("eth_getTransactionByHash", [tx_hash])
        return found


def _result(response: Any) -> Any:
    """The result of a JSON-RPC answer; :class:`RpcError` for an error answer."""
    if "error" in response:
        err = response["error"]
        if not isinstance(err, dict):
            raise RpcError(str(err))
        raise RpcError(str(err.get("message", err)), err.get("data"), int(err.get("code", 0)))
    return response["result"]


def _outcome(answer: Any) -> Any:
    """One answer of a batch: its result, or the :class:`RpcError` (returned, not raised)."""
    try:
        return _result(answer) if "error" in answer else answer.get("result")
    except RpcError as exc:
        return exc


def quantity(value: Any) -> int:
    """A JSON-RPC quantity (hex string) or an int, as int."""
    return int(value, 16) if isinstance(value, str) else int(value)


# ------------------------------------------------------------------ reverts in error answers


def revert_data(data: Any) -> Any:
    """The revert data (``0x…``) in a node's error data, in any of the shapes nodes use; None if none."""
    if data is None:
        return None
    if isinstance(data, str):
        return data if data.startswith("0x") else None
    if isinstance(data, dict):
        # Ganache: {"message":..., "data": {"result": "0x.."}} or {"<hash>": {"return": "0x.."}}
        for key in ("data", "result", "return"):
            v = data.get(key)
            if isinstance(v, str) and v.startswith("0x"):
                return v
            if isinstance(v, dict):
                inner = revert_data(v)
                if inner is not None:
                    return inner
        for v in data.values():
            if isinstance(v, dict):
                inner = revert_data(v)
                if inner is not None:
                    return inner
    return revert_data_from_exception(Exception(data))


def revert_from(exc: RpcError, tx_hash: str | None = None) -> LedgerError:
    """The error an error answer stands for: :class:`~ledger.errors.ContractReverted` (the custom
    error decoded) for a revert, :class:`~ledger.errors.TransactionFailed` for anything else."""
    data = revert_data(exc.data)
    if data is None and "revert" not in exc.message.lower():
        return TransactionFailed(f"node error: {exc.message}")
    return decode_revert(data, tx_hash=tx_hash)


def out_of_gas(exc: RpcError) -> bool:
    """The node's answer to a simulation that may have exhausted its gas limit (no revert data).

    A bare ``revert`` without data counts too: an external call that ran out of the 63/64
    of the gas it was given fails, and its caller reverts without data (CoGovFund's vote
    scans the registry's committee only once quorum is reached, so one function's gas varies
    by more than the cached estimate's margin). The caller estimates afresh, once; a real
    revert without data is then raised by the estimate.
    """
    msg = exc.message.lower()
    data = revert_data(exc.data)
    return (data is None or data in ("0x", "0X")) and (
        "out of gas" in msg or "gas required exceeds" in msg or "intrinsic gas" in msg or "revert" in msg
    )


class NodeHttp:
    """JSON-RPC to one node over HTTP: a kept connection per thread (``http.client``), the request
    sent in one write, the answer read whole; the user and password in the URL (if any) sent as
    basic auth.

    What every request of the ledger goes through, so it is lean: web3's ``HTTPProvider`` (over
    requests, with a cache of 100 sessions that closes the oldest while it is in use once more
    threads than that send) cost about 0.8 ms of CPU a request here and several ms of wall time;
    this costs about 0.15 ms. No retries here: a request that fails raises (``OSError``,
    ``http.client.HTTPException``, ``TimeoutError``; an HTTP error status is a ``requests``
    ``HTTPError``, an ``OSError`` too) and :class:`FailoverProvider` treats it as no answer from
    that node (the next one is tried; a transaction is never relayed to a node that has it).
    """

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {redact_url(url)}")
        self.endpoint_uri = url
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        if parts.username is not None or parts.password is not None:
            user_pass = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(user_pass.encode()).decode()
        self._local = threading.local()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        body = {"jsonrpc": "2.0", "method": method, "params": params or [], "id": 1}
        return cast(RPCResponse, self._post(body))

    def make_batch_request(self, calls: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        """The answers in request order (by id); a node's single error answer to the whole batch as is."""
        body = [{"jsonrpc": "2.0", "method": m, "params": p or [], "id": i} for i, (m, p) in enumerate(calls)]
        answers = self._post(body)
        if not isinstance(answers, list):
            return cast(RPCResponse, answers)
        return sorted(answers, key=lambda a: a.get("id") if isinstance(a.get("id"), int) else -1)

    def _post(self, body: Any) -> Any:
        data = json.dumps(body, cls=Web3JsonEncoder, separators=(",", ":")).encode()
        conn = self._connection()
        try:
            conn.request("POST", self._path, data, self._headers)
            response = conn.getresponse()
            raw = response.read()
        except BaseException:
            conn.close()
            self._local.conn = None
            raise
        if response.will_close:
            conn.close()
            self._local.conn = None
        if response.status // 100 != 2:
            shown = redact_url(self.endpoint_uri)
            raise requests.exceptions.HTTPError(f"{response.status} {response.reason} from {shown}")
        return json.loads(raw)

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and _dropped(conn.sock):
            conn.close()  # the node closed the kept connection meanwhile (a restart, an idle timeout)
            conn = None
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = kind(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn


def _dropped(sock: Any) -> bool:
    """Whether a kept connection's socket was closed by the other end (readable while idle)."""
    poller = select.poll()  # not select(): a busy process has descriptors above FD_SETSIZE
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True

