"""A real JSON-RPC proxy in front of a node, misbehaving on ``eth_sendRawTransaction`` (holds no tests).

It listens on a free loopback port and forwards every request to ``upstream``
over HTTP. For ``eth_sendRawTransaction`` its ``mode`` decides:

* ``"forward"``: pass it on like everything else (after calling ``on_send``, if given);
* ``"drop"``: forward the transaction, wait until the node has mined it (so that
  the same bytes sent again are "nonce too low"), then close the connection
  without answering: the client sees the connection closed;
* ``"hang"``: forward the transaction, then never answer (until the proxy stops):
  the client's read times out;
* ``"late"``: keep the transaction and close the connection at once; it reaches
  the node only when :meth:`RpcProxy.deliver` is called (a node that took a
  transaction, lost the answer, and mined it a moment later);
* ``"swallow"``: neither forward nor answer;
* ``"forget"``: answer the transaction's hash as a node that took it does, but never pass it
  on (a node that put it in its pool, answered, and lost the pool in a crash);
* ``"refuse"``: answer a JSON-RPC error without passing it on (a node refusing every write, its
  pool full, while it still answers reads).

``times`` bounds how many transactions misbehave (``None``: all of them; the
rest are forwarded); with ``to``, only transactions to that address misbehave (the service
under test may send others meanwhile: an anchor of its access logs, say). ``raw`` holds every
transaction that misbehaved (0x hex), ``hashes`` their hashes, and ``sent`` is set when the first arrived. ``answers``
maps a method to the result the proxy gives itself instead of asking the node (a
node that says something untrue, such as ``eth_mining`` while it does not mine).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from eth_utils import keccak

from ledger.process import free_port

MODES = ("forward", "drop", "hang", "late", "swallow", "forget", "refuse")


class RpcProxy:
    """A JSON-RPC proxy to ``upstream`` that misbehaves on ``eth_sendRawTransaction`` (see the module)."""

    def __init__(
        self,
        upstream: str,
        mode: str = "forward",
        times: int | None = None,
        on_send: Callable[[], None] | None = None,
        answers: dict[str, Any] | None = None,
        to: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.upstream = upstream
        self.mode = mode
        self.times = times
        self.to = None if to is None else to.lower()
        self.on_send = on_send
        self.answers = dict(answers or {})
        self.sent = threading.Event()
        self.raw: list[str] = []
        self.calls: list[tuple[str, list[Any]]] = []  # every JSON-RPC request that arrived (batches unrolled)
        self._delivered = 0
        self._release = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    req = json.loads(body)
                except ValueError:
                    req = None
                for one in req if isinstance(req, list) else [req]:
                    if isinstance(one, dict):
                        proxy.calls.append((str(one.get("method")), list(one.get("params") or [])))
                if isinstance(req, dict) and req.get("method") in proxy.answers:
                    self._answer(req, proxy.answers[str(req["method"])])
                    return
                sending = isinstance(req, dict) and req.get("method") == "eth_sendRawTransaction"
                if sending and proxy._misbehave(req):
                    if proxy.mode == "forget":
                        proxy.sent.set()
                        self._answer(req, "0x" + keccak(hexstr=proxy.raw[-1]).hex())
                        return
                    if proxy.mode == "refuse":
                        proxy.sent.set()
                        self._answer(req, None, {"code": -32000, "message": "txpool is full"})
                        return
                    if proxy.mode in ("drop", "hang"):
                        proxy._forward(body)  # the node gets it, and answers: the answer is lost
                    proxy.sent.set()
                    if proxy.mode == "drop":
                        proxy._wait_mined(proxy.hashes[-1])
                    elif proxy.mode in ("hang", "swallow"):
                        proxy._release.wait(120)  # never answer (until the proxy stops)
                    self.close_connection = True
                    return
                if sending and proxy.on_send is not None:
                    proxy.on_send()
                r = proxy._forward(body)
                self.send_response(r.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def _answer(self, req: dict[str, Any], result: Any, error: dict[str, Any] | None = None) -> None:
                answer = {"result": result} if error is None else {"error": error}
                own = json.dumps({"jsonrpc": "2.0", "id": req.get("id"), **answer})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(own)))
                self.end_headers()
                self.wfile.write(own.encode())

            def log_message(self, *a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _misbehave(self, req: dict[str, object]) -> bool:
        if self.mode == "forward":
            return False
        with self._lock:
            if self.times is not None and len(self.raw) >= self.times:
                return False
            params = req.get("params")
            raw = str(params[0]) if isinstance(params, list) and params else ""
            if self.to is not None and _recipient(raw) != self.to:
                return False
            self.raw.append(raw)
            return True

    def deliver(self) -> None:
        """``"late"``: send the kept transactions to the node now, and wait until they are mined."""
        with self._lock:
            kept, self._delivered = self.raw[self._delivered :], len(self.raw)
        for raw in kept:
            self._forward(json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]}
            ).encode())
            self._wait_mined("0x" + keccak(hexstr=raw).hex())

    def _forward(self, body: bytes) -> httpx.Response:
        return httpx.post(self.upstream, content=body, headers={"Content-Type": "application/json"}, timeout=30)

    def _wait_mined(self, tx_hash: str, timeout: float = 30.0) -> None:
        ask = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [tx_hash]}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.post(self.upstream, json=ask, timeout=10).json().get("result"):
                return
            time.sleep(0.02)
        raise TimeoutError(f"{tx_hash} was not mined within {timeout:.0f}s")

    @property
    def hashes(self) -> list[str]:
        """The hashes of the transactions that misbehaved, in order."""
        return ["0x" + keccak(hexstr=r).hex() for r in self.raw]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RpcProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def _recipient(raw: str) -> str | None:
    """The ``to`` of a signed transaction (0x hex; legacy or typed), lower-case."""
    from eth_account._utils.legacy_transactions import Transaction
    from eth_account.typed_transactions import TypedTransaction
    from hexbytes import HexBytes

    data = HexBytes(raw)
    typed = bool(data) and data[0] < 0x80
    to = TypedTransaction.from_bytes(data).as_dict().get("to") if typed else Transaction.from_bytes(data).to
    return "0x" + bytes(to).hex() if to else None


@contextmanager
def answer_lost(first: str, then: str, mode: str, to: str | None = None) -> Iterator[tuple[list[str], RpcProxy]]:
    """The RPC URLs of a client whose first node takes its next transaction but never answers.

    ``first`` is that node, ``then`` the node the client fails over to. Yields the URLs
    (in order) and the proxy in front of ``first`` (its ``hashes``: the transaction that
    node took). ``mode`` is ``"drop"`` or ``"hang"`` (see :class:`RpcProxy`; mined before the
    client fails over), or ``"late"``: the first node mines it only once the client, having
    found it nowhere, sends the same bytes to ``then`` (which answers "nonce too low" when
    it has that block already). ``to``: only the next transaction to that address.
    """
    if mode not in ("drop", "hang", "late"):
        raise ValueError("mode must be drop, hang or late")
    with RpcProxy(first, mode=mode, times=1, to=to) as lossy:
        if mode != "late":
            yield [lossy.url, then], lossy
            return
        with RpcProxy(then, on_send=lossy.deliver) as second:
            yield [lossy.url, second.url], lossy
