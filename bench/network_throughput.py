"""Write throughput and confirmation latency: a 3-node geth Clique network vs one Ganache.

    .venv/bin/python bench/network_throughput.py [--writes 30] [--senders 3] [--period 2]

Both chains run in one process, in temporary directories, on free ports, and
are stopped at the end. Each write is a council proposal (MembershipRegistry
``propose``), signed locally, sent by ``--senders`` threads at once, and waited
for with confirmations 1 and 3. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")
PASSWORD = "bench-password-not-secret"

from ledger.chain import ChainConfig, Ganache  # noqa: E402
from ledger.client import Ledger  # noqa: E402
from ledger.deploy import CouncilSeat, DeployParams, deploy  # noqa: E402
from ledger.keys import Keystore, Signer  # noqa: E402
from ledger.membership import ChangeKind, encode_change  # noqa: E402
from ledger.network.clique import CliqueNetwork  # noqa: E402
from ledger.network.config import NetworkConfig  # noqa: E402
from ledger.process import free_port  # noqa: E402


def run_load(urls: list[str], manifest: Any, senders: list[Signer], writes: int, confirmations: int) -> dict[str, Any]:
    led = Ledger(urls, manifest, confirmations=confirmations)
    payload = encode_change(ChangeKind.SET_THRESHOLD, 2)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_sender = max(1, writes // len(senders))

    def worker(s: Signer) -> None:
        for _ in range(per_sender):
            t = time.monotonic()
            try:
                led.transact(s, "MembershipRegistry", "propose", int(ChangeKind.SET_THRESHOLD), payload)
            except Exception as exc:  # counted and reported, the run goes on
                with lock:
                    failures.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                continue
            with lock:
                latencies.append(time.monotonic() - t)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "senders": len(senders),
        "failed": len(failures),
        "failures": sorted(set(failures))[:3],
        "confirmations": confirmations,
        "writes": len(latencies),
        "seconds": round(elapsed, 2),
        "writes_per_second": round(len(latencies) / elapsed, 2),
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
    }


def setup(urls: list[str], keys: dict[str, Signer], root: Path) -> Any:
    led = Ledger(urls)
    seats = [CouncilSeat(name=f"dept{i}", account=keys[f"c{i}"].address, roles=["department"])  # type: ignore[list-item]
             for i in (1, 2, 3)]
    return deploy(led, keys["deployer"], DeployParams(council=seats, threshold=2), root / "deployment.json").manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--writes", type=int, default=30)
    ap.add_argument("--senders", type=int, default=3)
    ap.add_argument("--period", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cogov-bench-") as tmp:
        root = Path(tmp)
        ks = Keystore(root / "keys")
        keys = {}
        for label in ["deployer", "c1", "c2", "c3"]:
            ks.create(label, PASSWORD)
            keys[label] = ks.signer(label, PASSWORD)
        senders = [keys["c1"], keys["c2"], keys["c3"]][: args.senders]
        result: dict[str, Any] = {}

        net = CliqueNetwork(NetworkConfig.load(data_dir=root / "net", http_port=0, p2p_port=0,
                                               authrpc_port=0, period=args.period, nodes=3))
        try:
            t = time.monotonic()
            net.up(fund=[k.address for k in keys.values()])
            started_in = time.monotonic() - t
            (root / "clique").mkdir()
            manifest = setup(net.urls, keys, root / "clique")
            result["clique_3_nodes"] = {
                "period_s": args.period,
                "start_seconds": round(started_in, 1),
                "runs": [run_load(net.urls, manifest, senders, args.writes, c) for c in (1, 3)],
            }
        finally:
            net.down()

        g = Ganache(ChainConfig.load(port=free_port(), db_path=root / "ganache" / "chain"))
        try:
            t = time.monotonic()
            g.start()
            started_in = time.monotonic() - t
            from ledger.devchain import fund

            led = Ledger(g.config.url)
            for k in keys.values():
                fund(led, k.address)
            (root / "g").mkdir()
            manifest = setup([g.config.url], keys, root / "g")
            result["ganache_1_node"] = {
                "instamine": g.config.instamine,
                "start_seconds": round(started_in, 1),
                "runs": [run_load([g.config.url], manifest, senders, args.writes, 1),
                         run_load([g.config.url], manifest, senders[:1], args.writes, 1)],
            }
        finally:
            g.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
