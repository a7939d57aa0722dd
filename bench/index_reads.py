"""Indexing rate against the bare eth_getLogs fetch.

One private Ganache; ``BenchEventSource`` (contracts/bench/) emits DataSharing's
own ``AccessRecorded``/``AccessRefused`` events in bulk (1,000 a transaction),
so 100,000 events exist in seconds. Indexed under the DataSharing ABI they
decode exactly as the contract's.

Indexing: events per second of ``Indexer.sync()`` (fetch, decode, write SQLite)
over the whole range, against one bare ``eth_getLogs`` of the same range and
addresses (HTTP + JSON parse, no decoding, no storing). Target ratio >= 0.5.
Also against the bare fetch in the indexer's range size (5-block calls, one after
the other), which Ganache answers faster than one huge call: the stricter ratio.

Reads over such an index are measured by bench/http_reads.py (wrk against the server).

    .venv/bin/python bench/index_reads.py [--quick] [--events N] [--baseline DIR] [--reps N]

Before/after in one run: ``git archive <old commit> | tar -x -C /tmp/base`` (and a
``node_modules`` link), then ``--baseline /tmp/base``: the old indexer's syncs are
interleaved with this tree's (medians of ``--reps``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

PER_TX = 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a source tree of older code (e.g. `git archive <commit> | tar -x -C DIR`): its indexer "
                         "is measured too, interleaved with this tree's on the same chain")
    ap.add_argument("--reps", type=int, default=None, help="timed syncs per variant (default 1, 3 with --baseline)")
    ns = ap.parse_args()
    reps = ns.reps or (3 if ns.baseline else 1)
    n_events = ns.events or (6_000 if ns.quick else 100_000)

    import httpx

    with C.suite("cogov-bench-index-") as s:
        src, first, last = emit_events(s, n_events)

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


def emit_events(s: C.Suite, n_events: int, at: str | None = None) -> tuple[str, int, int]:
    """``n_events`` DataSharing access events from a fresh ``BenchEventSource``:
    (its address, first block, last block).

    ``at``: emitted from that address instead (the deployment's DataSharing, say, so that the
    service's own index holds them): Ganache's ``evm_setAccountCode`` puts the source's code
    there for the emission, then the contract's own code and the storage slot the source writes
    (slot 0) are put back."""
    led = s.ledger(preflight=False)
    signer = s.signers["deployer"]
    rc = led.deploy(signer, "BenchEventSource", gas=2_000_000)
    src = rc.contract_address
    assert src is not None
    if at is not None:
        slot = "0x" + "00" * 32
        own_code, slot0 = led.rpc("eth_getCode", [at, "latest"]), led.rpc("eth_getStorageAt", [at, slot, "latest"])
        led.rpc("evm_setAccountCode", [at, led.rpc("eth_getCode", [src, "latest"])])
        try:
            return emit_events_from(s, at, n_events)
        finally:
            led.rpc("evm_setAccountCode", [at, own_code])
            led.rpc("evm_setAccountStorageAt", [at, slot, "0x" + slot0[2:].rjust(64, "0")])
    return emit_events_from(s, src, n_events)


def emit_events_from(s: C.Suite, src: str, n_events: int) -> tuple[str, int, int]:
    """``n_events`` access events from ``src`` (running BenchEventSource's code): (``src``, first block, last block)."""
    from ledger import artifacts

    led = s.ledger(preflight=False)
    signer = s.signers["deployer"]
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
    return src, first, last


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


if __name__ == "__main__":
    main()
