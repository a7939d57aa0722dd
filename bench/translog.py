"""The access transparency log (ledger/translog) at 10^3 .. 10^6 entries.

One log is built once in a temporary folder, in batches (one fsync round per 10,000
entries); at each size it measures the root, inclusion and consistency proofs (sizes in
hashes and bytes, generation and verification times over random leaves), and the time
to reopen the log (recovery reads only its tail). Appends one at a time, each fsynced
before it returns (the gateway's path), are timed separately on a small log.

    .venv/bin/python bench/translog.py            # up to 10^6 entries
    .venv/bin/python bench/translog.py --quick    # up to 10^5
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

SAMPLES = 200


def entry(i: int) -> bytes:
    """An entry the size of the gateway's (about 330 bytes of canonical JSON)."""
    return (
        b'{"account":"0x%040x","dataset":%d,"fields":"0x3f","filter":null,"grant":%d,"kind":"access",'
        b'"member":%d,"query":"0x%064x","reason":null,"rows":%d,"time":%d,"v":1,"version":1}'
        % (i * 7919, i % 97 + 1, i % 311 + 1, i % 13 + 4, i * 104729, i % 500, 1_765_000_000 + i)
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 4)


def measure_size(log: Any, n: int, rng: random.Random) -> dict[str, Any]:
    from ledger.translog import merkle

    t0 = time.perf_counter()
    root = log.root(n)
    root_s = time.perf_counter() - t0
    incl_gen, incl_ver, incl_len = [], [], []
    for _ in range(SAMPLES):
        i = rng.randrange(n)
        t0 = time.perf_counter()
        proof = log.inclusion_proof(i, n)
        incl_gen.append(time.perf_counter() - t0)
        leaf = log.leaf_hash(i)
        t0 = time.perf_counter()
        ok = merkle.verify_inclusion(leaf, i, n, proof, root)
        incl_ver.append(time.perf_counter() - t0)
        assert ok
        incl_len.append(len(proof))
    cons_gen, cons_ver, cons_len = [], [], []
    for _ in range(SAMPLES):
        m = rng.randrange(1, n)
        first_root = log.root(m)
        t0 = time.perf_counter()
        proof = log.consistency_proof(m, n)
        cons_gen.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ok = merkle.verify_consistency(m, n, first_root, root, proof)
        cons_ver.append(time.perf_counter() - t0)
        assert ok
        cons_len.append(len(proof))
    return {
        "entries": n,
        "root_ms": _ms(root_s),
        "inclusion": {"hashes_max": max(incl_len), "hashes_mean": round(statistics.mean(incl_len), 1),
                      "bytes_max": 32 * max(incl_len), "generate_ms_mean": _ms(statistics.mean(incl_gen)),
                      "verify_ms_mean": _ms(statistics.mean(incl_ver))},
        "consistency": {"hashes_max": max(cons_len), "hashes_mean": round(statistics.mean(cons_len), 1),
                        "bytes_max": 32 * max(cons_len), "generate_ms_mean": _ms(statistics.mean(cons_gen)),
                        "verify_ms_mean": _ms(statistics.mean(cons_ver))},
    }


def fsync_appends(directory: Path, count: int) -> dict[str, Any]:
    from ledger.translog import TransparencyLog

    with TransparencyLog(directory) as log:
        times = []
        for i in range(count):
            t0 = time.perf_counter()
            log.append(entry(i))
            times.append(time.perf_counter() - t0)
    times.sort()
    return {"appends": count, "per_second": round(count / sum(times)), "p50_ms": _ms(times[len(times) // 2]),
            "p99_ms": _ms(times[int(len(times) * 0.99)])}


def main() -> int:
    from ledger.translog import TransparencyLog

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ns = ap.parse_args()
    sizes = [10**3, 10**4, 10**5] + ([] if ns.quick else [10**6])
    rng = random.Random(6962)
    with tempfile.TemporaryDirectory(prefix="cogov-bench-translog-") as tmp:
        appends = fsync_appends(Path(tmp) / "single", 300)
        C.say(f"appends with fsync: {appends['per_second']}/s (p50 {appends['p50_ms']} ms)")
        path = Path(tmp) / "log"
        log = TransparencyLog(path)
        rows, built, build_s = [], 0, 0.0
        for n in sizes:
            t0 = time.perf_counter()
            while built < n:
                chunk = min(10_000, n - built)
                log.append_many([entry(i) for i in range(built, built + chunk)])
                built += chunk
            build_s += time.perf_counter() - t0
            rows.append(measure_size(log, n, rng))
            C.say(f"{n:,} entries: inclusion {rows[-1]['inclusion']}, consistency {rows[-1]['consistency']}")
        log.close()
        t0 = time.perf_counter()
        TransparencyLog(path).close()
        reopen_s = time.perf_counter() - t0
        disk = sum(p.stat().st_size for p in path.iterdir())
    C.emit("translog", {
        "build": {"entries": sizes[-1], "seconds": round(build_s, 2), "per_second": round(sizes[-1] / build_s),
                  "batch": 10_000, "disk_bytes_per_entry": round(disk / sizes[-1], 1)},
        "reopen_ms": _ms(reopen_s),
        "fsync_appends": appends,
        "sizes": rows,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
