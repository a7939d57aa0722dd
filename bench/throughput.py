"""Write throughput against the node's own limit: raw JSON-RPC vs the ledger library vs the HTTP API.

On one private Ganache, in one run, the same operation is sent three ways:

* raw: transactions signed up front, then sent pipelined over one keep-alive
  JSON-RPC connection (batches of 20), timed from the first send until the last
  one is mined: what the node itself can take;
* library: the ``ledger`` wrapper (``DataSharing.record_access``,
  ``Ledger.transact(... "contribute" ...)``) called by 16 threads sharing one
  ``Ledger``, each waiting for its receipt, as the API's worker threads do;
  once with the default pre-flight (an ``eth_call`` per write with the cached gas
  limit: a custom-error revert is decoded before anything is signed) and once
  with ``Ledger(preflight=False)`` (no simulation, revert decoded after mining);
* api: 16 concurrent HTTP clients against ``cogov serve`` (uvicorn, separate
  process, default settings: ``COGOV_PREFLIGHT=true``). An access record over
  HTTP is a gateway fetch of a Secret dataset (``GET /api/v1/datasets/{id}/data``:
  the grant is checked on chain, the data decrypted and sealed, and the access
  recorded by a ``recordAccess`` transaction mined before the data leaves, all by
  the dataset owner's one account; a dataset served in log mode, the default
  below Secret, sends no transaction per fetch); a contribution is
  ``POST /api/v1/fund/contributions``, each client with its own contributor
  account (``Fund.contribute`` serialises one account's contributions through
  the receipt, to protect its allowance).

The operations: ``recordAccess`` (an access record) and ``contribute`` (a
contribution to the general pool, after the treasurer minted CommunityCredit and
the contributor approved the fund).

Beside each rate, the node's own CPU time per write (``node_cpu_ms_per_write``, read from
``/proc`` for the Ganache process): Ganache runs every request on one thread, so this is
what bounds each way's rate, and unlike a rate it hardly moves with the machine's load.

    .venv/bin/python bench/throughput.py [--quick] [--count N] [--skip-api] [--skip-library]
    .venv/bin/python bench/throughput.py --rpc-calls   # JSON-RPC requests per API write, no timing
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

CONCURRENCY = 16
#: Called right before each timed phase starts (``--chain geth``: :func:`next_block`), so that
#: every way starts at the same phase of the block clock.
ALIGN: Callable[[], None] | None = None
#: The API keys the bench's HTTP clients use (label, role); c3 approves Secret grants as data governance.
_KEYS = (("c2", "council"), ("c3", "data_governance"), ("dept_a", "department"), ("resident", "contributor"))


# ----------------------------------------------------------------------------- raw


def raw_rate(led: Any, signer: Any, to: str, datas: list[str]) -> float:
    """Sign everything first, then send pipelined; tx/s from the first send to the last receipt."""
    import httpx

    gas = int(led.rpc("eth_estimateGas", [{"from": signer.address, "to": to, "data": datas[0]}]), 16) * 2
    nonce = int(led.rpc("eth_getTransactionCount", [signer.address, "pending"]), 16)
    price = led.gas_price()
    raws = [
        "0x" + signer.sign_transaction(
            {"chainId": led.chain_id, "nonce": nonce + i, "gas": gas, "gasPrice": price, "to": to, "data": d, "value": 0}
        ).hex()
        for i, d in enumerate(datas)
    ]
    last = nonce + len(raws)
    with httpx.Client(base_url=led.url, timeout=60) as http:
        if ALIGN is not None:
            ALIGN()
        t0 = time.perf_counter()
        for i in range(0, len(raws), 20):
            batch = [
                {"jsonrpc": "2.0", "id": j, "method": "eth_sendRawTransaction", "params": [r]}
                for j, r in enumerate(raws[i : i + 20])
            ]
            for answer in http.post("/", json=batch).json():
                if "error" in answer:
                    raise RuntimeError(f"raw send refused: {answer['error']}")
        while True:
            done = http.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount",
                                        "params": [signer.address, "latest"]}).json()["result"]
            if int(done, 16) >= last:
                break
            time.sleep(0.002)
        elapsed = time.perf_counter() - t0
    return len(raws) / elapsed


# ----------------------------------------------------------------------------- concurrent


def concurrent_rate(n: int, op: Callable[[int], None], workers: int | None = None, tolerate: bool = False) -> float:
    """``n`` calls of ``op(i)`` spread over ``workers`` threads; successful calls per second.

    With ``tolerate`` a failed call is counted (``concurrent_rate.failed``) instead of stopping the run.
    """
    counter = iter(range(n))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None or (errors and not tolerate):
                return
            try:
                op(i)
            except BaseException as exc:
                errors.append(exc)
                if not tolerate:
                    return

    go = threading.Event()

    def start() -> None:
        go.wait()
        work()

    threads = [threading.Thread(target=start) for _ in range(workers or CONCURRENCY)]
    for t in threads:
        t.start()
    if ALIGN is not None:
        ALIGN()
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    concurrent_rate.failed = len(errors)  # type: ignore[attr-defined]
    concurrent_rate.first_error = repr(errors[0])[:200] if errors else None  # type: ignore[attr-defined]
    if errors and not tolerate:
        raise RuntimeError(f"{len(errors)} calls failed; first: {errors[0]!r}") from errors[0]
    return n / elapsed


def next_block(led: Any) -> Callable[[], None]:
    """A wait that returns right after the node's head moves on (within a few ms).

    On geth (1 s Clique blocks) a phase's rate depends on where the block boundary falls in it:
    writes sent just before a seal are mined a block sooner than the same writes sent just after
    it (raw alone moved between 72 and 124 tx/s for the same 200 writes). Starting every way right
    after a new head puts raw, the library and the API at the same phase of the block clock."""

    def wait() -> None:
        start = int(led.rpc("eth_blockNumber", []), 16)
        while int(led.rpc("eth_blockNumber", []), 16) == start:
            time.sleep(0.003)

    return wait


# ----------------------------------------------------------------------------- api server


class Server:
    """``cogov serve`` in its own process (so the load generator does not share its GIL)."""

    def __init__(self, env: dict[str, str], root: Path) -> None:
        from ledger.process import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = root / "api.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        import httpx

        cogov = str(C.ROOT / ".venv" / "bin" / "cogov")
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [cogov, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cogov serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("cogov serve did not answer")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Clients:
    """The HTTP clients' side of the API rows: one kept ``http.client`` connection per client thread.

    httpx cost the bench about 5-8 ms of its own CPU per write (as much as the API process itself),
    on the same two cores as the server and the node; this costs a fraction of that, so the rows
    measure the service rather than its load generator (issue 18 item 2). Nothing is retried: a
    failed request (a write) is counted as failed."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port
        self._local = threading.local()

    def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, bytes]:
        import http.client
        import json

        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self._host, self._port, timeout=45)
        data = None if body is None else json.dumps(body).encode()
        sent = {**headers, "Content-Type": "application/json"} if data is not None else headers
        try:
            conn.request(method, path, body=data, headers=sent)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._local.conn = None
            raise


def api_env(s: C.Suite, directory: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "COGOV_ENV": "test",
        "COGOV_RPC_URLS": s.url,
        "COGOV_MANIFEST_PATH": str(s.deployment.manifest_path),
        "COGOV_INDEX_DB_URL": f"sqlite:///{directory / 'index.db'}",
        "COGOV_SERVICE_DB_URL": f"sqlite:///{directory / 'service.db'}",
        "COGOV_KEYSTORE_DIR": str(s.deployment.keystore.directory),
        "COGOV_GATEWAY_MASTER_KEY_FILE": str(directory / "gateway-master.key"),
        "COGOV_GATEWAY_STORE_DIR": str(directory / "gateway"),
        "COGOV_INDEX_FOLLOW": "true",
        "COGOV_RATE_LIMIT_PER_MINUTE": "0",
        "COGOV_KEYSTORE_PASSWORD": C.PASSWORD,
    })
    return env


# ----------------------------------------------------------------------------- main


def main() -> None:
    global CONCURRENCY, ALIGN
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts (a change check, < 1 minute)")
    ap.add_argument("--count", type=int, default=None, help="transactions per way and operation")
    ap.add_argument("--skip-api", action="store_true")
    ap.add_argument("--skip-library", action="store_true", help="raw and API only (a check of the API path)")
    ap.add_argument("--chain", choices=("ganache", "geth"), default="ganache",
                    help="the node: Ganache (instamine) or a 1-node geth v1.13.15 Clique, 1 s blocks")
    ap.add_argument("--concurrency", type=int, default=None,
                    help=f"library threads / HTTP clients (default {CONCURRENCY}; on geth, the count: with 1 s "
                         "blocks a waiting writer sends one write per block, so all are in flight, as raw's are)")
    ap.add_argument("--rpc-calls", action="store_true",
                    help="only count the JSON-RPC requests the node gets per API write (in process, no timing)")
    ns = ap.parse_args()
    if ns.rpc_calls:
        with C.suite("cogov-bench-rpc-") as s:
            C.emit("throughput_rpc_calls", {"api_rpc_per_request": rpc_calls_per_request(s, ns.count or 20)})
        return
    n = ns.count or (60 if ns.quick else 400)
    CONCURRENCY = ns.concurrency or (n if ns.chain == "geth" else CONCURRENCY)

    from eth_utils import keccak

    from ledger.client import Ledger
    from ledger.data import DataSharing

    result: dict[str, Any] = {"chain": ns.chain, "count_per_way": n, "concurrency": CONCURRENCY, "operations": {}}
    with C.suite("cogov-bench-tput-", chain=ns.chain) as s:
        sig = s.signers
        did, gid = C.grant_for_bench(s)
        base = s.ledger()
        if ns.chain == "geth":
            ALIGN = next_block(base)
        ds_addr = base.manifest.address("DataSharing")
        fund_addr = base.manifest.address("CoGovFund")
        for label in ("resident", "enterprise"):
            C.credit_for_contributions(s, label, 10**15)
        dsc = base.contract("DataSharing")
        fc = base.contract("CoGovFund")

        def access_data(i: int) -> str:
            return str(dsc.encode_abi("recordAccess", args=[gid, keccak(text=f"q{i}"), i % 100, 1]))

        def contrib_data(i: int) -> str:
            return str(fc.encode_abi("contribute", args=[100 + i, 0, keccak(text=f"m{i}")]))

        # warm-up: first calls pay for imports, contract objects and caches
        DataSharing(base).record_access(sig["c2"], gid, b"\x00" * 32, 1, 1)
        base.transact(sig["resident"], "CoGovFund", "contribute", 1, 0, b"\x00" * 32)

        ops: dict[str, dict[str, Any]] = {
            "access_record": {"signer": sig["c2"], "to": ds_addr, "data": access_data},
            "contribution": {"signer": sig["resident"], "to": fund_addr, "data": contrib_data},
        }
        raws: dict[str, float] = {}
        for op_name, op in ops.items():
            C.say(f"{op_name}: raw ({n} pre-signed, pipelined)")
            cpu0 = C.node_cpu(s)
            raws[op_name] = raw_rate(base, op["signer"], op["to"], [op["data"](i) for i in range(n)])
            result["operations"][op_name] = {"raw_tps": round(raws[op_name], 1),
                                             "raw_node_cpu_ms_per_write": C.node_cpu_ms(s, cpu0, n)}
        # Ganache 7.9.2 can leave an eth_estimateGas that arrives while it mines unanswered for
        # good (bench/NOTES.md): short request and receipt timeouts count such calls as failed
        # instead of hanging the run.
        def library(mode: str, preflight: bool, count: int) -> None:
            for op_name in ops:
                figures = result["operations"][op_name]
                led = s.ledger(preflight=preflight, request_timeout=5, receipt_timeout=15)
                if op_name == "access_record":
                    data = DataSharing(led)

                    def call(i: int, data: DataSharing = data, mode: str = mode) -> None:
                        data.record_access(sig["c2"], gid, keccak(text=f"L{mode}{i}"), i % 100, 1)
                else:
                    def call(i: int, led: Ledger = led, mode: str = mode) -> None:
                        led.transact(sig["resident"], "CoGovFund", "contribute", 100 + i, 0, keccak(text=f"L{mode}{i}"))
                for attempt in range(3):  # warm this Ledger's caches (gas, contract objects)
                    try:
                        call(-1 - attempt)
                        break
                    except Exception as exc:
                        C.say(f"warm-up failed ({exc!r}); again")
                C.say(f"{op_name}: {mode} ({count} calls, {CONCURRENCY} threads)")
                cpu0 = C.node_cpu(s)
                rate = concurrent_rate(count, call, tolerate=True)
                figures[f"{mode}_node_cpu_ms_per_write"] = C.node_cpu_ms(s, cpu0, count)
                figures[f"{mode}_tps"] = round(rate, 1)
                figures[f"{mode}_failed_calls"] = concurrent_rate.failed  # type: ignore[attr-defined]
                if concurrent_rate.failed:  # type: ignore[attr-defined]
                    figures[f"{mode}_first_error"] = concurrent_rate.first_error  # type: ignore[attr-defined]
                figures[f"{mode}_over_raw"] = round(rate / raws[op_name], 3)
                figures[f"{mode}_calls"] = count

        if not ns.skip_library:
            library("library_no_preflight", False, n)
        if not ns.skip_api:
            # on geth as many writes as raw's, all in flight; on Ganache at most 96 (its API phase is slow)
            result["api"] = run_api(s, n if ns.chain == "geth" else min(n, 96), did, gid)
            for op_name, fig in result["api"].items():
                if "tps" in fig and op_name in result["operations"]:
                    o = result["operations"][op_name]
                    o["api_tps"] = fig["tps"]
                    o["api_over_raw"] = round(fig["tps"] / o["raw_tps"], 3)
                    o["api_route"] = fig["route"]
                    o["api_failed_calls"] = fig.get("failed_calls", 0)
                    for k in ("node_cpu_ms_per_write", "api_process_cpu_ms_per_write", "clients_cpu_ms_per_write",
                              "wall_ms_per_write"):
                        o[f"api_{k.removeprefix('api_')}"] = fig[k]
                elif op_name in result["operations"]:
                    result["operations"][op_name]["api_note"] = fig.get("note")
        if not ns.skip_library:
            library("library", True, n)
    result["targets"] = {"library_over_raw": 0.9, "api_over_raw": 0.7}
    if ns.chain == "geth":
        result["aligned"] = "each timed phase starts right after a new head (next_block)"
    C.emit("throughput_geth" if ns.chain == "geth" else "throughput", result)


def _share_over_http(http: Any, auth: dict[str, dict[str, str]], title: str) -> tuple[int, int]:
    """Through the API: c2 uploads a small Secret dataset (its accesses recorded on chain at once),
    dept_a asks, c2 and data governance (c3) approve: (dataset id, grant id)."""
    csv = b"a,b\n" + b"".join(f"{i},{i * 2}\n".encode() for i in range(20))
    r = http.post("/api/v1/datasets", headers=auth["c2"], data={"title": title, "classification": "secret"},
                  files={"file": (f"{title.replace(' ', '_')}.csv", csv, "text/csv")})
    r.raise_for_status()
    did = r.json()["dataset"]["id"]
    r = http.post("/api/v1/access-requests", headers=auth["dept_a"],
                  json={"dataset_id": did, "purpose_code": 1, "purpose": title, "duration": 30 * 86400})
    r.raise_for_status()
    rid = r.json()["request"]["id"]
    for approver in ("c2", "c3"):
        r = http.post(f"/api/v1/access-requests/{rid}/approve", headers=auth[approver])
        r.raise_for_status()
    return did, r.json()["request"]["grant_id"]


def run_api(s: C.Suite, n: int, did: int, gid: int) -> dict[str, Any]:
    """``CONCURRENCY`` HTTP clients (16; on geth one per write): gateway fetches (access records) and
    contributions, each client contributing from its own resident's account."""
    import httpx

    from api.apikeys import ApiKeyStore, engine_for
    from ledger.testing import register_data_key

    directory = s.root / "api"
    directory.mkdir(exist_ok=True)
    env = api_env(s, directory)
    store = ApiKeyStore(engine_for(env["COGOV_SERVICE_DB_URL"]))
    tokens = {lb: store.create(f"bench-{lb}", role, s.signers[lb].address, lb)[0]
              for lb, role in _KEYS}
    # Contributions: each client a resident contributing from its own account, as that many callers
    # would (Fund.send_contribution serialises the contributions of one account through its receipt,
    # to protect its allowance: shared accounts would measure that queue, not the service).
    C.say(f"setting up {CONCURRENCY - 1} more residents (concurrently)")
    contributors = [tokens["resident"], *_extra_contributor_accounts(s, store, CONCURRENCY - 1)]
    # the grantee needs an X25519 key on chain to receive sealed data
    register_data_key(s.deployment, "dept_a")
    out: dict[str, Any] = {}
    with Server(env, directory) as server:
        auth = {lb: {"Authorization": f"Bearer {t}"} for lb, t in tokens.items()}
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        with httpx.Client(base_url=server.url, timeout=45, limits=limits) as http:
            http_did, http_gid = _share_over_http(http, auth, "bench http")

            clients = Clients(server.url)
            fetch_path = f"/api/v1/datasets/{http_did}/data?grant_id={http_gid}"

            def fetch(_i: int) -> None:
                status, body = clients.request("GET", fetch_path, auth["dept_a"])
                if status != 200:
                    raise RuntimeError(f"{status}: {body[:300]!r}")

            def cpu() -> tuple[float, float, float]:
                """CPU seconds so far of the node, the API process and this (the clients') process."""
                return C.node_cpu(s), C.process_cpu(server.proc.pid if server.proc else None), time.process_time()

            def cpu_per_write(since: tuple[float, float, float], rate: float) -> dict[str, float]:
                """Each process's CPU ms per write since ``since``, beside the wall ms per write."""
                now = cpu()
                return {
                    "node_cpu_ms_per_write": round((now[0] - since[0]) * 1000 / n, 2),
                    "api_process_cpu_ms_per_write": round((now[1] - since[1]) * 1000 / n, 2),
                    "clients_cpu_ms_per_write": round((now[2] - since[2]) * 1000 / n, 2),
                    "wall_ms_per_write": round(1000 / rate, 2),
                }

            fetch(-1)
            C.say(f"access_record: api ({n} gateway fetches, {CONCURRENCY} clients)")
            cpu0 = cpu()
            rate = concurrent_rate(n, fetch, tolerate=True)
            out["access_record"] = {
                "tps": round(rate, 1), "failed_calls": concurrent_rate.failed,  # type: ignore[attr-defined]
                "first_error": concurrent_rate.first_error,  # type: ignore[attr-defined]
                **cpu_per_write(cpu0, rate),
                "route": "GET /api/v1/datasets/{id}/data (a Secret dataset's gateway fetch: grant check, decrypt, "
                         "seal, recordAccess mined before the data leaves)",
            }
            spec = http.get("/openapi.json").json()
            if "/api/v1/fund/contributions" in spec.get("paths", {}):
                mine = threading.local()
                handed = iter(range(10**6))

                def contribute(i: int) -> None:
                    if not hasattr(mine, "auth"):  # each client thread keeps one account
                        mine.auth = {"Authorization": f"Bearer {contributors[next(handed) % len(contributors)]}"}
                    status, body = clients.request("POST", "/api/v1/fund/contributions", mine.auth,
                                                   {"amount": 100 + i, "project_id": 0, "memo": f"bench {i}"})
                    if status >= 300:
                        raise RuntimeError(f"{status}: {body[:300]!r}")

                def warm(i: int) -> None:
                    status, body = clients.request("POST", "/api/v1/fund/contributions",
                                                   {"Authorization": f"Bearer {contributors[i]}"},
                                                   {"amount": 1, "project_id": 0})
                    if status >= 300:
                        raise RuntimeError(f"{status}: {body[:300]!r}")

                # Every client has contributed before (its key verified, its account checked, its signer
                # unlocked), as returning residents have, and as the fetch's one key is by fetch(-1).
                C.say(f"contribution: warming the {len(contributors)} clients' keys (one contribution each)")
                concurrent_rate(len(contributors), warm)
                C.say(f"contribution: api ({n} POSTs, {CONCURRENCY} clients)")
                cpu0 = cpu()
                rate = concurrent_rate(n, contribute, tolerate=True)
                out["contribution"] = {"tps": round(rate, 1), "failed_calls": concurrent_rate.failed,  # type: ignore[attr-defined]
                                       **cpu_per_write(cpu0, rate),
                                       "route": f"POST /api/v1/fund/contributions ({CONCURRENCY} clients, each a "
                                                f"resident member with its own account: {len(contributors)} accounts)"}
            else:
                out["contribution"] = {"note": "POST /api/v1/fund/contributions does not exist yet: not measured"}
    return out


def rpc_calls_per_request(s: C.Suite, n: int) -> dict[str, Any]:
    """JSON-RPC requests the node gets per gateway fetch and per contribution, the app in process.

    Counted on the service's provider, one request after another (so no request shares
    another's receipt poll): ``request_thread`` is what the request itself asks (a JSON-RPC
    batch counts as one HTTP request, its calls under ``batched_calls``); the receipt
    poller and the index follower are counted apart (they serve every waiting request).
    """
    import collections

    from fastapi.testclient import TestClient

    from api.apikeys import ApiKeyStore, engine_for
    from api.main import create_app
    from api.testing import make_settings
    from ledger.testing import register_data_key

    os.environ["COGOV_KEYSTORE_PASSWORD"] = C.PASSWORD
    C.credit_for_contributions(s, "resident", 10**15)
    register_data_key(s.deployment, "dept_a")
    directory = s.root / "api-rpc"
    directory.mkdir(exist_ok=True)
    settings = make_settings(s.deployment, directory, index_follow=True)
    store = ApiKeyStore(engine_for(settings.service_db_url))
    auth = {lb: {"Authorization": f"Bearer {store.create(f'rpc-{lb}', role, s.signers[lb].address, lb)[0]}"}
            for lb, role in _KEYS}
    counts: collections.Counter[str] = collections.Counter()
    node_ms: collections.Counter[str] = collections.Counter()  # the node's CPU per request kind (ms, summed)
    batches: dict[int, list[Any]] = {}  # the request thread's JSON-RPC batches, by size (the last of each)
    lock = threading.Lock()
    on = threading.Event()

    def where() -> str:
        name = threading.current_thread().name
        if name.startswith("AnyIO worker"):  # where the app runs a sync endpoint
            return "request"
        return "poller" if name.startswith("ledger-receipts") else "follower" if name == "index-follower" else name

    out: dict[str, Any] = {}
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        provider = http.app.state.service.ledger.provider  # type: ignore[attr-defined]
        names = _function_names(http.app.state.service.ledger)  # type: ignore[attr-defined]
        single = provider.make_request

        def charged(name: str, call: Callable[[], Any]) -> Any:
            """``call()``; the node's CPU over it charged to ``name`` when the request thread asks
            (one request at a time, so only the poller's and the follower's calls can overlap)."""
            if not on.is_set() or where() != "request":
                return call()
            cpu0 = C.node_cpu(s)
            try:
                return call()
            finally:
                with lock:
                    node_ms[name] += (C.node_cpu(s) - cpu0) * 1000

        def counted(method: Any, params: Any) -> Any:
            if on.is_set():
                with lock:
                    counts[f"{where()}:{method}"] += 1
            return charged(f"{method} {_first_call(params, names)}".strip(), lambda: single(method, params))

        provider.make_request = counted
        batch = provider.batch_request

        def counted_batch(reqs: Any) -> Any:
            if on.is_set():
                with lock:
                    counts[f"{where()}:batch"] += 1
                    counts[f"{where()}:batched_calls"] += len(reqs)
            if on.is_set() and where() == "request":
                batches[len(reqs)] = list(reqs)
            return charged(f"batch of {len(reqs)}", lambda: batch(reqs))

        provider.batch_request = counted_batch
        did, gid = _share_over_http(http, auth, "rpc")

        def fetch(i: int) -> None:
            resp = http.get(f"/api/v1/datasets/{did}/data", params={"grant_id": gid}, headers=auth["dept_a"])
            if resp.status_code != 200:
                raise RuntimeError(f"{resp.status_code}: {resp.text[:300]}")

        def contribute(i: int) -> None:
            resp = http.post("/api/v1/fund/contributions", headers=auth["resident"],
                             json={"amount": 100 + i, "project_id": 0, "memo": f"rpc {i}"})
            if resp.status_code >= 300:
                raise RuntimeError(f"{resp.status_code}: {resp.text[:300]}")

        for op_name, op in (("access_record", fetch), ("contribution", contribute)):
            op(-1)
            op(-2)  # warm: gas estimates, contract objects, kept signers and member ids
            time.sleep(0.5)
            counts.clear()
            node_ms.clear()
            cpu0 = C.node_cpu(s)
            on.set()
            for i in range(n):
                op(i)
            on.clear()
            total = C.node_cpu_ms(s, cpu0, n)
            per = {k: round(v / n, 2) for k, v in sorted(counts.items())}
            request = sum(v for k, v in per.items() if k.startswith("request:") and not k.endswith("batched_calls"))
            calls = sum(v for k, v in per.items() if k.startswith("request:") and not k.endswith(":batch"))
            asked = {k: round(v / n, 2) for k, v in sorted(node_ms.items())}
            # each call of the request's batches alone, n times: what it costs the node
            alone: dict[str, float] = {}
            for reqs in batches.values():
                for method, params in reqs:
                    cpu1 = C.node_cpu(s)
                    for _ in range(n):
                        single(method, params)
                    alone[f"{method} {_first_call(params, names)}".strip()] = C.node_cpu_ms(s, cpu1, n)
            batches.clear()
            out[op_name] = {
                "http_requests": round(request, 2), "node_calls": round(calls, 2), "by_method": per,
                "node_cpu_ms_per_write": total,
                "node_cpu_ms_per_write_by_request": asked,
                "node_cpu_ms_per_write_poller_follower_and_mining": round(total - sum(asked.values()), 2),
                "node_cpu_ms_each_batched_call_alone": alone,
            }
            C.say(f"{op_name}: {request:.1f} JSON-RPC HTTP requests ({calls:.1f} calls), node CPU {total} ms "
                  f"per API write ({asked})")
    return out


def _function_names(led: Any) -> dict[str, str]:
    """4-byte selector (``0x...``) -> function name, over the suite's contracts."""
    from eth_utils import function_abi_to_4byte_selector

    names = {}
    for contract in ("DataSharing", "CoGovFund", "MembershipRegistry", "CommunityCredit"):
        for item in led.contract(contract).abi:
            if item.get("type") == "function":
                names["0x" + function_abi_to_4byte_selector(item).hex()] = item["name"]
    return names


def _first_call(params: Any, names: dict[str, str]) -> str:
    """The function an ``eth_call`` calls, for the rows of ``--rpc-calls``."""
    if isinstance(params, list | tuple) and params and isinstance(params[0], dict):
        data = str(params[0].get("data") or params[0].get("input") or "")
        return names.get(data[:10], data[:10])
    return ""


def _extra_contributor_accounts(s: C.Suite, store: Any, n: int) -> list[str]:
    """``n`` more residents, each a member of its own (council ADMIT_MEMBER, contributor role) with
    one account: funded, credited CommunityCredit, the fund approved, an API key. Set up concurrently,
    one thread per resident, so that each step costs one block on geth's 1 s blocks, not ``n``."""
    from concurrent.futures import ThreadPoolExecutor

    from ledger.devchain import fund
    from ledger.membership import MemberKind, Registry, Role

    led = s.ledger()
    reg = Registry(led)
    fund_addr = led.manifest.address("CoGovFund")
    labels = [f"bench-contrib-{k}" for k in range(n)]
    known = {k.label for k in s.deployment.keystore.list()}  # geth: made and funded at genesis (C.EXTRA_LABELS)
    for label in labels:
        if label not in known:
            s.deployment.keystore.create(label, C.PASSWORD)

    signers = [s.deployment.keystore.signer(label, C.PASSWORD) for label in labels]
    for signer in signers:  # one after another: Ganache left concurrent eth_sendTransactions unmined
        if int(led.rpc("eth_getBalance", [signer.address, "latest"]), 16) < 10**18:
            fund(led, signer.address)

    def resident(label: str, signer: Any) -> str:
        reg.admit(s.deployment.council, label, MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR], signer.address)
        led.transact(s.signers["treasurer"], "CommunityCredit", "mint", signer.address, 10**15, os.urandom(32))
        led.transact(signer, "CommunityCredit", "approve", fund_addr, 2**256 - 1)
        return signer.address

    if not labels:
        return []
    with ThreadPoolExecutor(max_workers=len(labels), thread_name_prefix="bench-resident") as pool:
        addresses = list(pool.map(resident, labels, signers))
    return [str(store.create(lb, "contributor", a, lb)[0]) for lb, a in zip(labels, addresses, strict=True)]


if __name__ == "__main__":
    main()
