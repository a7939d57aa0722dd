"""Benchmark: audit time against chain size (not a test).

Generates chains of N events on a private Ganache and times ``run_audit`` on each:
the suite deployed, members admitted, a dataset shared under a grant, a small fund
history (a project approved by quorum, contributions, a payout), then N access
records. Records are generated efficiently: signed locally, sent as JSON-RPC
batches while the miner is stopped, then mined a few hundred to a block
(``evm_mine``), so 100,000 events take minutes, not hours.

    .venv/bin/python bench/audit_scaling.py            # 10,000 and 100,000 events
    .venv/bin/python bench/audit_scaling.py --quick    # 1,000 and 5,000 events
    .venv/bin/python bench/audit_scaling.py --sizes 2000 20000

The audit should grow linearly: the last column is seconds per 1,000 events, and
the ratio of the two times is printed next to the ratio of the sizes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")

from eth_account import Account
from eth_utils.crypto import keccak

from ledger.audit import AuditOptions, run_audit
from ledger.audit.rpc import Rpc
from ledger.chain import ChainConfig, Ganache, free_port
from ledger.client import Ledger
from ledger.data_sharing import Classification, DataSharing
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.devchain import fund
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.membership import Registry
from ledger.roles import MemberKind, Role

PER_BLOCK = 400  # recordAccess ~ 55k gas: 400 fit in a 30M-gas block
SEND_BATCH = 400


def _signer(label: str) -> Signer:
    return Signer(label, Account.from_key(keccak(text=f"bench-{label}")))


def build(url: str, root: Path, n_events: int) -> tuple[Ledger, Manifest]:
    labels = ["deployer", "c1", "c2", "c3", "dept_a", "dept_b", "treasurer", "cm_a", "cm_b", "resident"]
    s = {label: _signer(label) for label in labels}
    led0 = Ledger(url)
    for sg in s.values():
        fund(led0, sg.address)
    params = DeployParams(
        council=[
            CouncilSeat(name="街道办", account=s["c1"].address, roles=["department"]),  # type: ignore[list-item]
            CouncilSeat(name="民政局", account=s["c2"].address, roles=["department"]),  # type: ignore[list-item]
            CouncilSeat(name="区数据局", account=s["c3"].address, roles=["data_governance"]),  # type: ignore[list-item]
        ],
        threshold=2,
        fund_quorum=2,
        fund_timelock=60,
    )
    deploy(led0, s["deployer"], params, root / "deployment.json")
    m = Manifest.load(root / "deployment.json")
    led = Ledger(url, m)
    for name, dep in m.contracts.items():
        led.register(name, dep.address)
    reg = Registry(led)
    council = [s["c1"], s["c2"], s["c3"]]
    for label, name, kind, roles in [
        ("dept_a", "卫健委", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
        ("dept_b", "城管", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
        ("treasurer", "财政局", MemberKind.DEPARTMENT, [Role.TREASURER]),
        ("cm_a", "委员会甲", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE]),
        ("cm_b", "委员会乙", MemberKind.ENTERPRISE, [Role.FUND_COMMITTEE]),
        ("resident", "居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
    ]:
        reg.admit(council, name, kind, roles, s[label].address)
    ds = DataSharing(led)
    did, _ = ds.register(
        s["dept_a"], "bench dataset", Classification.INTERNAL, keccak(text="m"), keccak(text="s"), keccak(text="c")
    )
    rid, _ = ds.request_access(s["dept_b"], did, 1, keccak(text="p"), keccak(text="f"), 3 * 365 * 24 * 3600)
    gid = int(ds.approve_as_owner(s["dept_a"], rid).event("GrantCreated").args["grantId"])
    # a small fund history
    fund_addr = m.address("CoGovFund")
    led.transact(s["treasurer"], "CommunityCredit", "mint", s["resident"].address, 10_000, keccak(text="dep"))
    led.transact(s["resident"], "CommunityCredit", "approve", fund_addr, 10_000)
    led.transact(
        s["dept_a"],
        "CoGovFund",
        "proposeProject",
        keccak(text="t"),
        s["dept_b"].address,
        1000,
        [(1000, keccak(text="d"))],
    )
    led.transact(s["cm_a"], "CoGovFund", "vote", 1, True)
    led.transact(s["cm_b"], "CoGovFund", "vote", 1, True)
    led.transact(s["resident"], "CoGovFund", "contribute", 5000, 1, keccak(text="r"))
    led.rpc("evm_increaseTime", [61])
    led.rpc("evm_mine", [])
    led.transact(s["treasurer"], "CoGovFund", "payMilestone", 1, 0, 400, keccak(text="i"))

    # N access records: signed locally, sent in batches with the miner stopped, mined 400 a block
    have = len(Rpc(led).get_logs([d.address for d in m.contracts.values()], m.start_block, led.block_number(), 5000))
    todo = max(0, n_events - have)
    rpc = Rpc(led)
    contract = led.contract("DataSharing")
    nonce = int(led.rpc("eth_getTransactionCount", [s["dept_a"].address, "pending"]), 16)
    gas_price = led.gas_price()
    led.rpc("miner_stop", [])
    t0 = time.monotonic()
    sent = 0
    while sent < todo:
        n = min(PER_BLOCK, todo - sent)
        raws = []
        for i in range(n):
            data = contract.encode_abi("recordAccess", args=[gid, keccak(text=f"q{sent + i}"), (sent + i) % 100])
            raw = s["dept_a"].sign_transaction(
                {
                    "chainId": led.chain_id,
                    "nonce": nonce,
                    "gas": 120_000,
                    "gasPrice": gas_price,
                    "to": contract.address,
                    "data": data,
                    "value": 0,
                }
            )
            raws.append(("eth_sendRawTransaction", ["0x" + raw.hex()]))
            nonce += 1
        for i in range(0, len(raws), SEND_BATCH):
            rpc.batch(raws[i : i + SEND_BATCH])
        led.rpc("evm_mine", [])
        sent += n
        if sent % 10_000 < PER_BLOCK:
            print(f"    {sent:,}/{todo:,} access records ({sent / (time.monotonic() - t0):,.0f}/s)", flush=True)
    led.rpc("miner_start", [])
    return led, m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 and 5,000 events")
    ap.add_argument("--sizes", type=int, nargs="+", help="event counts to generate and audit")
    args = ap.parse_args()
    sizes = args.sizes or ([1_000, 5_000] if args.quick else [10_000, 100_000])
    results = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="cogov-audit-bench-") as tmp:
            root = Path(tmp)
            cfg = ChainConfig.load(port=free_port(), db_path=root / "chain")  # type: ignore[arg-type]
            g = Ganache(cfg)
            g.start()
            try:
                t0 = time.monotonic()
                _led, m = build(cfg.url, root, n)
                gen = time.monotonic() - t0
                t1 = time.monotonic()
                report = run_audit(Ledger(cfg.url, m), m, AuditOptions())
                took = time.monotonic() - t1
            finally:
                g.stop(timeout=30)
        errors = [f.rule for f in report.errors]
        results.append((n, report.scan.events, report.scan.blocks, took))
        print(
            f"{report.scan.events:>8,} events in {report.scan.blocks:>6,} blocks: audit {took:7.2f}s "
            f"({1000 * took / report.scan.events:.3f} s per 1,000 events; generated in {gen:.0f}s; "
            f"{'ok' if report.ok else 'FINDINGS ' + ', '.join(sorted(set(errors)))})",
            flush=True,
        )
    if len(results) >= 2:
        (_, e0, _, t0_), (_, e1, _, t1_) = results[0], results[-1]
        print(f"events x{e1 / e0:.1f} -> audit time x{t1_ / t0_:.1f} (linear would be x{e1 / e0:.1f})")


if __name__ == "__main__":
    main()
