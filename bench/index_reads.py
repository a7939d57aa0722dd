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
cache (api/routers/_index_reads.py) where the endpoint has one. ``c50_per_s`` is the
throughput at 50 clients: by Little's law the latency at 50 closed-loop clients is
50 / throughput, whatever the handler does.

    .venv/bin/python bench/index_reads.py [--quick] [--events N]
"""

from __future__ import annotations

import argparse
import json
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
    ns = ap.parse_args()
    n_events = ns.events or (6_000 if ns.quick else 100_000)
    n_req = ns.requests or (25 if ns.quick else 400)

    import httpx

    from ledger import artifacts
    from ledger.index import Indexer

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

        # bare fetch: one eth_getLogs of the range, parsed, nothing else
        params = {"fromBlock": hex(first), "toBlock": hex(last), "address": [src]}
        with httpx.Client(timeout=300) as http:
            t0 = time.perf_counter()
            logs = http.post(s.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [params]}).json()["result"]
            bare = time.perf_counter() - t0
        assert len(logs) == n_events, (len(logs), n_events)
        del logs
        # the same, in the ranges the indexer asks for (about batch_events = 5,000 logs: 5 blocks
        # here), one after the other: Ganache answers those faster than one 100,000-log answer
        chunk = 5
        with httpx.Client(timeout=300) as http:
            t0 = time.perf_counter()
            got = 0
            for frm in range(first, last + 1, chunk):
                p = {"fromBlock": hex(frm), "toBlock": hex(min(frm + chunk - 1, last)), "address": [src]}
                got += len(http.post(s.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                                                  "params": [p]}).json()["result"])
            bare_ranges = time.perf_counter() - t0
        assert got == n_events, (got, n_events)

        db = s.root / "index.db"
        idx = Indexer(led.w3, {"DataSharing": (src, artifacts.abi("DataSharing"))}, f"sqlite:///{db}",
                      start_block=first, batch_blocks=100_000)
        C.say("indexer sync")
        t0 = time.perf_counter()
        res = idx.sync()
        synced = time.perf_counter() - t0
        assert res.events == n_events, res
        indexing = {
            "events": n_events,
            "blocks": last - first + 1,
            "bare_getlogs_s": round(bare, 3),
            "bare_getlogs_events_per_s": round(n_events / bare, 1),
            "indexer_sync_s": round(synced, 3),
            "indexer_events_per_s": round(n_events / synced, 1),
            "ratio_indexer_over_bare": round(bare / synced, 3),
            "bare_getlogs_in_ranges_s": round(bare_ranges, 3),
            "ratio_indexer_over_faster_bare": round(min(bare, bare_ranges) / synced, 3),
            "target": 0.5,
        }
        C.emit("indexing", indexing)
        idx.close()
        reads = run_reads(s, db, src, first, n_req)
        reads["events_in_index"] = n_events
        C.emit("reads", reads)


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
state.index = Indexer(state.ledger.w3, {{"DataSharing": ({src!r}, artifacts.abi("DataSharing"))}}, {db!r}, start_block={first})
if settings.index_follow:  # start_index() keeps an index it did not build: start its follower here
    import threading
    state._follower = threading.Thread(target=state._follow, name="index-follower", daemon=True)
    state._follower.start()
uvicorn.run(create_app(settings, state=state), host="127.0.0.1", port={port}, log_level="warning")
'''


def run_reads(s: C.Suite, db: Path, src: str, first: int, n_req: int) -> dict[str, Any]:
    import httpx
    from throughput import api_env

    from api.apikeys import ApiKeyStore, engine_for
    from ledger.chain import free_port

    directory = s.root / "api"
    directory.mkdir(exist_ok=True)
    env = api_env(s, directory)
    env["COGOV_INDEX_FOLLOW"] = "true"  # the default: the follower thread, no catch-up per read
    token, _ = ApiKeyStore(engine_for(env["COGOV_SERVICE_DB_URL"])).create("bench-reader", "auditor", s.signers["auditor"].address, "auditor")
    port = free_port()
    script = directory / "serve.py"
    script.write_text(SERVER.format(root=str(C.ROOT), src=src, db=f"sqlite:///{db}", first=first, port=port))
    log = open(directory / "serve.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the read server did not start: " + (directory / "serve.log").read_text()[-2000:])
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
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
        endpoints: dict[str, Any] = {}
        with httpx.Client(base_url=url, timeout=120, headers=auth,
                          limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)) as http:
            for kind, path in candidates:
                t0 = time.perf_counter()
                r = http.get(path)
                first_s = time.perf_counter() - t0
                if r.status_code != 200:
                    endpoints[path] = {"kind": kind, "skipped": f"HTTP {r.status_code}"}
                    continue
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
                endpoints[path] = fig
                C.say(f"reads {path}: {json.dumps(fig)}")
        return {"endpoints": endpoints, "target": "p99 at 50 clients <= 5 x p50 at 1 client"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def load(http: Any, path: str, n: int, conc: int) -> list[float]:
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
            r = http.get(path)
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {r.status_code}")
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
