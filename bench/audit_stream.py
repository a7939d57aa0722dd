"""Benchmark: ``cogov audit verify`` over up to 1,000,000 events against the bare fetch (not a test).

Issue 18 item 6: the audit's time at most 1.3 x the bare ``eth_getLogs`` + block-header fetch of
the same range in the same run, and its memory bounded (it must not grow with the events).

The chain: a 1-node geth Clique network (the project's v1.13.15 build, 1 s blocks, a 300M gas
limit, archive mode for the audit's views at past blocks; geth rather than Ganache because
Ganache mines a 5,000-record block in tens of seconds on this machine, geth in well under one),
the suite and a small history (``bench/audit_chain.setup``: members, a dataset shared under a
grant, a fund project paid by quorum), then access records. They are real: the council adds
``BenchAccessRelay`` (contracts/bench/) as an account of the dataset's owner, and each of its
transactions makes ``--per-tx`` ``DataSharing.recordAccess`` calls, so DataSharing itself
checks each one and emits its own ``AccessRecorded``, which the auditor replays and judges as
any other (1,000,000 records in ~2,000 transactions, minutes instead of hours of one
transaction each). About ``--per-block`` records land in each block.

At each size (a cut: the chain's head when it held N events) it measures, each in a child
process, ``--repeat`` times interleaved (the fastest kept: the machine is shared):

  bare   ``eth_getLogs`` over the range in the auditor's own windows (``ledger.audit.events.scanner``,
         sequential, no decoding) + the headers of the blocks with events, in JSON-RPC batches;
  audit  ``cogov audit verify --no-progress --no-save --to-block CUT`` (the CLI, the same code path);

each with its wall time and its peak RSS (``ru_maxrss`` of the child, from ``os.wait4``).

    .venv/bin/python bench/audit_stream.py                  # 100,000, 300,000, 1,000,000 events
    .venv/bin/python bench/audit_stream.py --quick          # 2,000 and 20,000 events
    .venv/bin/python bench/audit_stream.py --sizes 100000 --hold /tmp/chain.json
        # --hold: after the last size keep the chain up, its URL and manifest in that file,
        # until the file is deleted (measure again with ``measure``)
    .venv/bin/python bench/audit_stream.py measure --url URL --manifest M --to-block N
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")

from bench._common import ROOT, emit, environment
from bench.audit_chain import GETH_GAS_PRICE, LABELS, bench_signer, geth_chain, log, node_batch, retry, setup
from ledger.client import Ledger
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.membership import ChangeKind, Registry
from ledger.testing import STANDARD_COUNCIL

PY = sys.executable


# ---------------------------------------------------------------------- building


class Relay:
    """Pre-signed ``BenchAccessRelay.recordMany(grant, per_tx)`` transactions of one sender."""

    def __init__(self, led: Ledger, sender: Signer, address: str, gid: int, per_tx: int) -> None:
        self.led = led
        self.sender = sender
        self.address = address
        self.per_tx = per_tx
        self.data = led.contract("BenchAccessRelay", address).encode_abi("recordMany", args=[gid, per_tx])
        est = int(led.rpc("eth_estimateGas", [{"from": sender.address, "to": address, "data": self.data}]), 16)
        self.gas = est * 3 // 2  # later records cost as the first: the counters are warm already
        self.base = self.nonce("pending")
        self.sent = 0

    def nonce(self, tag: str) -> int:
        return int(self.led.rpc("eth_getTransactionCount", [self.sender.address, tag]), 16)

    def send(self, n: int) -> None:
        tx = {"chainId": self.led.chain_id, "gas": self.gas, "gasPrice": GETH_GAS_PRICE, "to": self.address,
              "data": self.data, "value": 0}  # fmt: skip
        raws = [
            ("eth_sendRawTransaction", ["0x" + self.sender.sign_transaction(tx | {"nonce": k}).hex()])
            for k in range(self.base + self.sent, self.base + self.sent + n)
        ]
        for a in retry(lambda: node_batch(self.led.url, raws, 300)):
            if a.get("error") is not None and "known" not in str(a["error"]).lower():
                raise RuntimeError(f"a relay transaction was refused: {a['error']}")
        self.sent += n

    def mined(self) -> int:
        return self.nonce("latest") - self.base


def build(url: str, root: Path, per_tx: int) -> tuple[Ledger, Relay, int]:
    """The suite and its small history, the relay as an account of the dataset's owner.
    Returns (ledger, relay, events on the chain)."""
    s = {label: bench_signer(label) for label in LABELS}
    led, m, gid = setup(url, root, "geth", s)
    rc = led.deploy(s["deployer"], "BenchAccessRelay", m.address("DataSharing"), gas=2_000_000)
    relay_address = rc.contract_address
    assert relay_address is not None
    reg = Registry(led)
    owner = reg.member_of(s["dept_a"].address)
    assert owner is not None
    reg.enact([s[c] for c in STANDARD_COUNCIL], ChangeKind.ADD_ACCOUNT, owner.id, relay_address)
    return led, Relay(led, s["deployer"], relay_address, gid, per_tx), count_events(led, m)


def count_events(led: Ledger, m: Manifest) -> int:
    from ledger.logs import LogScanner

    scanner = LogScanner(led, [d.address for d in m.contracts.values()], max_blocks=5000)
    return sum(len(r.logs) for r in scanner.scan(m.start_block, led.block_number(), with_headers=False))


def grow(relay: Relay, events: int, target: int, per_block: int) -> int:
    """Send records until the chain holds ``target`` events; waits until all are mined."""
    txs = -(-(target - events) // relay.per_tx)
    backlog = max(1, per_block // relay.per_tx)
    goal = relay.sent + txs
    t0, shown = time.monotonic(), 0
    while relay.sent < goal or relay.mined() < goal:
        room = min(goal - relay.sent, backlog - (relay.sent - relay.mined()))
        if room > 0:
            relay.send(room)
        else:
            time.sleep(0.2)
        if relay.mined() * relay.per_tx - shown >= 50_000:
            shown = relay.mined() * relay.per_tx
            dt = time.monotonic() - t0
            log(f"    {shown:,} records mined ({shown / dt:,.0f}/s, head {relay.led.block_number()})")
    return events + txs * relay.per_tx


# ---------------------------------------------------------------------- measuring


def run_child(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``cmd``; its wall time, peak RSS (MiB), exit code and output."""
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=so, stderr=se, env=env, cwd=ROOT)
        _, status, usage = os.wait4(p.pid, 0)
        took = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        so.seek(0)
        se.seek(0)
        return {
            "seconds": round(took, 3),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            "exit": p.returncode,
            "stdout": so.read().decode(errors="replace"),
            "stderr": se.read().decode(errors="replace"),
        }


def bare_fetch(url: str, manifest: Path, to_block: int) -> dict[str, Any]:
    """The bare fetch (in this process): the auditor's windows of ``eth_getLogs`` and the headers of
    the blocks with logs, sequential, nothing decoded."""
    from ledger.audit.events import scanner

    m = Manifest.load(manifest)
    led = Ledger(url, m)
    t0 = time.monotonic()
    logs = ranges = headers = 0
    for got in scanner(led, [d.address for d in m.contracts.values()], 2000).scan(m.start_block, to_block):
        ranges += 1
        logs += len(got.logs)
        headers += len(got.headers)
    return {"seconds": round(time.monotonic() - t0, 3), "logs": logs, "ranges": ranges, "headers": headers}


def measure(url: str, manifest: Path, to_block: int, repeat: int) -> dict[str, Any]:
    """Bare fetch and audit, each in a child, interleaved ``repeat`` times; the fastest of each."""
    env = os.environ | {"COGOV_RPC_URLS": url, "COGOV_MANIFEST_PATH": str(manifest), "COGOV_ENV": "test"}
    bare_cmd = [PY, __file__, "bare", "--url", url, "--manifest", str(manifest), "--to-block", str(to_block)]
    with tempfile.TemporaryDirectory(prefix="cogov-audit-stream-") as tmp:
        report = Path(tmp) / "report.json"
        audit_cmd = [PY, "-m", "cogov", "audit", "verify", "--no-progress", "--no-save", "--to-block",
                     str(to_block), "--json", str(report)]  # fmt: skip
        bares, audits = [], []
        for _ in range(repeat):
            b = run_child(bare_cmd, env)
            if b["exit"] != 0:
                raise RuntimeError(f"bare fetch failed: {b['stderr'][-2000:]}")
            b |= json.loads(b.pop("stdout"))
            b.pop("stderr")
            bares.append(b)
            a = run_child(audit_cmd, env)
            if a["exit"] not in (0, 1) or not report.exists():
                raise RuntimeError(f"audit failed ({a['exit']}): {a['stderr'][-2000:]}")
            doc = json.loads(report.read_text())
            a.pop("stdout")
            a.pop("stderr")
            a |= {
                "ok": doc["ok"],
                "events": doc["scan"]["events"],
                "blocks": doc["scan"]["blocks"],
                "phases": doc["scan"]["phases"],
                "errors": sorted({f["rule"] for f in doc["findings"] if f["severity"] == "error"}),
            }
            audits.append(a)
    bare = min(bares, key=lambda r: r["seconds"])
    audit = min(audits, key=lambda r: r["seconds"])
    return {
        "to_block": to_block,
        "bare": bare,
        "audit": audit,
        "ratio": round(audit["seconds"] / max(bare["seconds"], 1e-9), 3),
        "all_seconds": {"bare": [r["seconds"] for r in bares], "audit": [r["seconds"] for r in audits]},
    }


def show(size: str, r: dict[str, Any]) -> None:
    b, a = r["bare"], r["audit"]
    log(
        f"  {size:>10}: bare {b['seconds']:7.2f}s ({b['logs']:,} logs, {b['headers']:,} headers, "
        f"{b['peak_rss_mib']:.0f} MiB) | audit {a['seconds']:7.2f}s ({a['events']:,} events, "
        f"{a['peak_rss_mib']:.0f} MiB, {'ok' if a['ok'] else 'FINDINGS ' + ','.join(a['errors'])}) "
        f"| ratio {r['ratio']:.2f} | phases {a['phases']}"
    )


# ---------------------------------------------------------------------- main


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("bare", "measure"):
        ap = argparse.ArgumentParser()
        ap.add_argument("what")
        ap.add_argument("--url", required=True)
        ap.add_argument("--manifest", type=Path, required=True)
        ap.add_argument("--to-block", type=int, required=True)
        ap.add_argument("--repeat", type=int, default=2)
        a = ap.parse_args()
        if a.what == "bare":
            sys.stdout.write(json.dumps(bare_fetch(a.url, a.manifest, a.to_block)))
        else:
            r = measure(a.url, a.manifest, a.to_block, a.repeat)
            show(f"block {a.to_block}", r)
            sys.stdout.write(json.dumps(r, indent=1) + "\n")
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 and 20,000 events")
    ap.add_argument("--sizes", type=int, nargs="+", help="event counts to audit (cuts of one generated chain)")
    ap.add_argument("--per-tx", type=int, default=500, help="records per relay transaction")
    ap.add_argument("--per-block", type=int, default=5000, help="records per block, about")
    ap.add_argument("--repeat", type=int, default=2, help="measurements per size (the fastest is kept)")
    ap.add_argument("--hold", type=Path, help="keep the chain up after the last size until this file is deleted")
    ap.add_argument("--out", default="audit_stream", help="bench/results/<out>.json")
    args = ap.parse_args()
    sizes = sorted(args.sizes or ([2_000, 20_000] if args.quick else [100_000, 300_000, 1_000_000]))
    result: dict[str, Any] = {"environment": environment(), "chain": "geth", "sizes": sizes, "runs": []}
    log(f"environment: {result['environment']}")
    t_all = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cogov-audit-stream-") as tmp:
        root = Path(tmp)
        with geth_chain(root, [bench_signer(label).address for label in LABELS]) as info:
            result["chain_info"] = info
            led, relay, events = build(info["url"], root, args.per_tx)
            log(f"  setup: {events} events at block {led.block_number()}")
            for target in sizes:
                t0 = time.monotonic()
                events = grow(relay, events, target, args.per_block)
                head = led.block_number()
                log(f"  cut: {events:,} events at block {head} (built in {time.monotonic() - t0:.0f}s)")
                try:
                    r = measure(info["url"], root / "deployment.json", head, args.repeat)
                except RuntimeError as exc:
                    r = {"to_block": head, "error": str(exc)[-2000:]}
                    log(f"  {exc}")
                r["label"] = f"{events:,} events"
                result["runs"].append(r)
                if "ratio" in r:
                    show(r["label"], r)
                emit(args.out, result | {"wall_seconds": round(time.monotonic() - t_all, 1)})
            if args.hold is not None:
                args.hold.write_text(json.dumps({"url": info["url"], "manifest": str(root / "deployment.json"),
                                                 "head": led.block_number(), "events": events}))  # fmt: skip
                log(f"  holding the chain: {args.hold} (delete it to stop)")
                while args.hold.exists():
                    time.sleep(2)
    result["wall_seconds"] = round(time.monotonic() - t_all, 1)
    emit(args.out, result)


if __name__ == "__main__":
    main()
