"""Indexing rate against the bare eth_getLogs fetch, then read latency of the list endpoints.

One private Ganache; ``BenchEventSource`` (contracts/bench/) emits DataSharing's
own ``AccessRecorded``/``AccessRefused`` events in bulk (1,000 a transaction),
so 100,000 events exist in seconds. Indexed under the DataSharing ABI they
decode exactly as the contract's.

Indexing: events per second of ``Indexer.sync()`` (fetch, decode, write SQLite)
over the whole range, against one bare ``eth_getLogs`` of the same range and
addresses (HTTP + JSON parse, no decoding, no storing). Target ratio >= 0.5.
Also against the bare fetch in the indexer's range size (5-block calls, one after
the other), which Ganache answers faster than one huge call: the stricter ratio.

Reads: ``cogov``'s app served by uvicorn in its own process over that index, as
deployed: the follower thread keeps the index current (``COGOV_INDEX_FOLLOW``
true, the default), reads never catch up themselves. p50/p99 latency of the list
endpoints (the API's access log, and the portal's pages and JSON that exist) at
1 and at 50 concurrent clients. Target: p99 at 50 clients within 5x p50 at 1
client. ``first_request_s`` is the first (uncached) answer of each endpoint; the
timed requests repeat one URL, so they measure answers kept by the index-version
cache (api/services/index.py) where the endpoint has one. ``c50_per_s`` is the
throughput at 50 clients: by Little's law the latency at 50 closed-loop clients is
50 / throughput, whatever the handler does.

    .venv/bin/python bench/index_reads.py [--quick] [--events N] [--baseline DIR] [--reps N]

Before/after in one run: ``git archive <old commit> | tar -x -C /tmp/base`` (and a
``node_modules`` link), then ``--baseline /tmp/base``: the old indexer's syncs are
interleaved with this tree's (medians of ``--reps``), and each endpoint is measured
on the old server right after this tree's, on the same chain and index.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

PER_TX = 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--requests", type=int, default=None, help="requests per endpoint and concurrency")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a source tree of older code (e.g. `git archive <commit> | tar -x -C DIR`): its indexer "
                         "and its read server are measured too, interleaved with this tree's on the same chain "
                         "and index, as it was run then (reads catching the index up, COGOV_INDEX_FOLLOW=false)")
    ap.add_argument("--reps", type=int, default=None, help="timed syncs per variant (default 1, 3 with --baseline)")
    ns = ap.parse_args()
    reps = ns.reps or (3 if ns.baseline else 1)
    n_events = ns.events or (6_000 if ns.quick else 100_000)
    n_req = ns.requests or (25 if ns.quick else 400)

    import httpx

    from ledger import artifacts

    with C.suite("cogov-bench-index-") as s:
        led = s.ledger(preflight=False)
        signer = s.signers["deployer"]
        rc = led.deploy(signer, "BenchEventSource", gas=2_000_000)
        src = rc.contract_address
        assert src is not None
        emitter = led.w3.eth.contract(abi=artifacts.abi("BenchEventSource"))
        C.say(f"emitting {n_events} events ({PER_TX} a transaction)")
        first = led.block_number() + 1
        # pre-signed and sent pipelined, completion seen from the nonce: Ganache 7.9.2 sometimes
        # fails receipt lookups made while it mines a large block (bench/NOTES.md)
        nonce = int(led.rpc("eth_getTransactionCount", [signer.address, "pending"]), 16)
        price = led.gas_price()
        sizes = [min(PER_TX, n_events - i) for i in range(0, n_events, PER_TX)]
        for j, k in enumerate(sizes):
            raw = signer.sign_transaction({"chainId": led.chain_id, "nonce": nonce + j, "gas": 6_000 * k + 100_000,
                                           "gasPrice": price, "to": src, "value": 0,
                                           "data": emitter.encode_abi("emitAccesses", args=[40, k, 10])})
            led.rpc("eth_sendRawTransaction", ["0x" + raw.hex()])
        while int(led.rpc("eth_getTransactionCount", [signer.address, "latest"]), 16) < nonce + len(sizes):
            time.sleep(0.05)
        last = led.block_number()

        def bare_fetch() -> float:
            """One eth_getLogs of the range, parsed, nothing else."""
            params = {"fromBlock": hex(first), "toBlock": hex(last), "address": [src]}
            with httpx.Client(timeout=300) as http:
                t0 = time.perf_counter()
                logs = http.post(s.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                                              "params": [params]}).json()["result"]
                took = time.perf_counter() - t0
            assert len(logs) == n_events, (len(logs), n_events)
            return took

        def bare_fetch_in_ranges(chunk: int = 5) -> float:
            """The same in the ranges the indexer asks for (about batch_events = 5,000 logs: 5 blocks
            here), one after the other: Ganache answers those faster than one 100,000-log answer."""
            with httpx.Client(timeout=300) as http:
                t0 = time.perf_counter()
                got = 0
                for frm in range(first, last + 1, chunk):
                    p = {"fromBlock": hex(frm), "toBlock": hex(min(frm + chunk - 1, last)), "address": [src]}
                    got += len(http.post(s.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                                                      "params": [p]}).json()["result"])
                took = time.perf_counter() - t0
            assert got == n_events, (got, n_events)
            return took

        roots = {"current": C.ROOT} | ({"baseline": ns.baseline.resolve()} if ns.baseline else {})
        times: dict[str, list[float]] = {k: [] for k in ("bare", "bare_ranges", *roots)}
        db = s.root / "index.db"
        for rep in range(reps):
            C.say(f"indexing, round {rep + 1} of {reps}: bare fetches, then each indexer's sync (fresh index)")
            times["bare"].append(bare_fetch())
            times["bare_ranges"].append(bare_fetch_in_ranges())
            for label, root in roots.items():
                out = s.root / f"index-{label}.db"
                times[label].append(sync_in_subprocess(root, s.url, src, first, out, n_events))
                if label == "current" and rep == reps - 1:
                    out.replace(db)
        med = {k: statistics.median(v) for k, v in times.items()}
        bare, bare_ranges, synced = med["bare"], med["bare_ranges"], med["current"]
        indexing = {
            "events": n_events,
            "blocks": last - first + 1,
            "rounds": reps,
            "bare_getlogs_s": round(bare, 3),
            "bare_getlogs_events_per_s": round(n_events / bare, 1),
            "indexer_sync_s": round(synced, 3),
            "indexer_events_per_s": round(n_events / synced, 1),
            "ratio_indexer_over_bare": round(bare / synced, 3),
            "bare_getlogs_in_ranges_s": round(bare_ranges, 3),
            "ratio_indexer_over_faster_bare": round(min(bare, bare_ranges) / synced, 3),
            "target": 0.5,
            "all_rounds_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
        }
        if ns.baseline:
            indexing["baseline"] = str(ns.baseline)
            indexing["baseline_indexer_sync_s"] = round(med["baseline"], 3)
            indexing["baseline_ratio_indexer_over_bare"] = round(bare / med["baseline"], 3)
        C.emit("indexing", indexing)
        reads = run_reads(s, db, src, first, n_req, roots)
        reads["events_in_index"] = n_events
        C.emit("reads", reads)


SYNC = r'''
import sys, time, json
sys.path.insert(0, {root!r})
from ledger import artifacts
from ledger.client import Ledger
from ledger.index import Indexer
import inspect
chain = Ledger({url!r})
chain = chain if "node" in inspect.signature(Indexer).parameters else chain.w3  # a baseline from before the log scanner
idx = Indexer(chain, {{"DataSharing": ({src!r}, artifacts.abi("DataSharing"))}}, {db!r},
              start_block={first}, batch_blocks=100_000)
t0 = time.perf_counter()
res = idx.sync()
print(json.dumps({{"s": time.perf_counter() - t0, "events": res.events}}))
'''


def sync_in_subprocess(root: Path, url: str, src: str, first: int, db: Path, n_events: int) -> float:
    """Seconds of one ``Indexer.sync()`` of the whole range into a fresh SQLite file, with the
    ``ledger`` of ``root``, in its own process (imports and start-up not timed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    code = SYNC.format(root=str(root), url=url, src=src, db=f"sqlite:///{db}", first=first)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=1800)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["events"] == n_events, result
    return float(result["s"])


SERVER = r'''
import sys, uvicorn
sys.path.insert(0, {root!r})
from api.main import create_app
from api.state import ServiceState
from ledger.config import Settings
from ledger.index import Indexer
from ledger import artifacts
settings = Settings()
state = ServiceState.build(settings)
import inspect
chain = state.ledger if "node" in inspect.signature(Indexer).parameters else state.ledger.w3  # a baseline: before the scanner
state.index = Indexer(chain, {{"DataSharing": ({src!r}, artifacts.abi("DataSharing"))}}, {db!r}, start_block={first})
if settings.index_follow:  # start_index() keeps an index it did not build: start its follower here
    if hasattr(state, "_follow"):  # a tree before ledger.index.Follower: the service's own thread
        import threading
        state._follower = threading.Thread(target=state._follow, name="index-follower", daemon=True)
    state._follower.start()  # since: the Follower the index setter made
uvicorn.run(create_app(settings, state=state), host="127.0.0.1", port={port}, log_level="warning")
'''


def start_server(s: C.Suite, label: str, root: Path, db: Path, src: str, first: int) -> tuple[Any, str, str, Any]:
    """A read server of ``root``'s code over ``db``: (process, URL, API key, log file)."""
    import httpx
    from throughput import api_env

    from api.apikeys import ApiKeyStore, engine_for
    from ledger.process import free_port

    directory = s.root / f"api-{label}"
    directory.mkdir(exist_ok=True)
    env = api_env(s, directory)
    # the current tree as deployed (the follower thread, no catch-up per read); a baseline as it was
    # benchmarked then (reads caught the index up themselves)
    env["COGOV_INDEX_FOLLOW"] = "true" if label == "current" else "false"
    token, _ = ApiKeyStore(engine_for(env["COGOV_SERVICE_DB_URL"])).create("bench-reader", "auditor", s.signers["auditor"].address, "auditor")
    port = free_port()
    script = directory / "serve.py"
    script.write_text(SERVER.format(root=str(root), src=src, db=f"sqlite:///{db}", first=first, port=port))
    log = open(directory / "serve.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code < 500:
                return proc, url, token, log
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the read server did not start: " + (directory / "serve.log").read_text()[-2000:])
        time.sleep(0.2)


def run_reads(s: C.Suite, db: Path, src: str, first: int, n_req: int, roots: dict[str, Path]) -> dict[str, Any]:
    """Each endpoint on each server in turn (current, then baseline), so both see the same load."""
    import httpx

    servers = {}
    try:
        for label, root in roots.items():
            servers[label] = start_server(s, label, root, db, src, first)
        candidates = [
            ("api", "/api/v1/access-log?kind=access&limit=50"),
            ("api", "/api/v1/access-log?kind=refusal&limit=50"),
            ("api", "/api/v1/access-log?limit=50"),
            ("api", "/api/v1/access-log?kind=access&grant_id=7&limit=50"),
            ("portal", "/api/v1/public/overview"),
            ("portal", "/api/v1/public/activity"),
            ("portal", "/activity"),
            ("portal", "/data-sharing"),
            ("portal", "/"),
        ]
        results: dict[str, dict[str, Any]] = {label: {} for label in roots}
        clients = {
            label: httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"},
                                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
            for label, (_, url, token, _) in servers.items()
        }
        for kind, path in candidates:
            for label, http in clients.items():
                results[label][path] = fig = measure(http, kind, path, n_req)
                C.say(f"reads {label} {path}: {json.dumps(fig)}")
        for http in clients.values():
            http.close()
        out: dict[str, Any] = {"endpoints": results["current"], "target": "p99 at 50 clients <= 5 x p50 at 1 client"}
        if "baseline" in results:
            out["baseline"] = str(roots["baseline"])
            out["baseline_endpoints"] = results["baseline"]
        return out
    finally:
        for proc, _, _, log in servers.values():
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def measure(http: Any, kind: str, path: str, n_req: int) -> dict[str, Any]:
    import httpx

    t0 = time.perf_counter()
    try:
        r = http.get(path)
    except httpx.HTTPError as exc:  # e.g. a server still busy with the last endpoint's backlog
        return {"kind": kind, "skipped": f"first request failed: {type(exc).__name__}"}
    first_s = time.perf_counter() - t0
    if r.status_code != 200:
        return {"kind": kind, "skipped": f"HTTP {r.status_code}"}
    fig: dict[str, Any] = {"kind": kind, "first_request_s": round(first_s, 3)}
    # budget: a slow page gets fewer requests, never less than 20 at 50 clients
    n = max(20, min(n_req, int(30 / max(first_s, 1e-3))))
    for conc in (1, 50):
        t0 = time.perf_counter()
        lat = load(http, path, n if conc == 1 else max(n, 50), conc)
        fig[f"c{conc}_per_s"] = round(len(lat) / (time.perf_counter() - t0), 1)
        fig[f"c{conc}_p50_ms"] = round(C.percentile(lat, 50) * 1000, 2)
        fig[f"c{conc}_p99_ms"] = round(C.percentile(lat, 99) * 1000, 2)
        fig[f"c{conc}_requests"] = len(lat)
    fig["p99_c50_over_p50_c1"] = round(fig["c50_p99_ms"] / fig["c1_p50_ms"], 2)
    fig["meets_5x"] = fig["p99_c50_over_p50_c1"] <= 5
    return fig


def load(http: Any, path: str, n: int, conc: int) -> list[float]:
    """Latencies of ``n`` GETs by ``conc`` closed-loop clients; a request that fails or
    times out (120 s) counts as 120 s, so a server that falls behind shows in p99."""
    import httpx

    lat: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def work() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                ok = http.get(path).status_code == 200
            except httpx.HTTPError:
                ok = False
            dt = time.perf_counter() - t0 if ok else 120.0
            with lock:
                lat.append(dt)

    threads = [threading.Thread(target=work) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat


if __name__ == "__main__":
    main()
