"""Benchmark: audit time against chain size (not a test).

Builds ONE generated chain and audits prefixes of it (``run_audit`` with
``to_block`` at the block where the chain held N events, so every size is audited
on the same kind of chain, like for like): the suite deployed, members admitted, a
dataset shared under a grant, a small fund history (a project approved by quorum, a
contribution, a payout), then access records up to each size. Records are signed
locally and sent as JSON-RPC batches of pre-signed transactions.

Chains (``--chain``):
  geth     a 1-node geth Clique network (the project's v1.13.15 build, 1 s blocks,
           high block gas limit, archive mode for the audit's historical calls), on
           free ports in a temporary directory; the sender is paced so blocks stay
           under the EIP-1559 gas target (the base fee does not climb). ~1,000+ tx/s.
  ganache  a private Ganache (miner stopped, N per block with evm_mine; ~65 tx/s
           on 2 cores); sends are retried on connection resets and resume from the
           chain's pending nonce.
  auto     geth when it is built (.cogov/bin/geth), otherwise ganache (default).

The audit's cost has a fixed part (code check against the artifacts, source hashes,
identity) and a per-event part (log fetch and decode, replay). Each prefix is timed
in phases; the "variable" time is the total minus the time for the setup-only
prefix (the tiny chain), and the linearity ratio is reported on both.

    .venv/bin/python bench/audit_scaling.py                      # demo-size, 10,000, 100,000 events
    .venv/bin/python bench/audit_scaling.py --quick              # 1,000 and 5,000 events
    .venv/bin/python bench/audit_scaling.py --sizes 2000 20000 --chain ganache
    .venv/bin/python bench/audit_scaling.py --demo               # also the real demo chain (Ganache)
    .venv/bin/python bench/audit_scaling.py --profile            # cProfile of the largest audit
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")

from eth_account import Account
from eth_utils.crypto import keccak
from requests import RequestException
from web3 import HTTPProvider
from web3.types import RPCEndpoint

from bench._common import emit, environment
from ledger.audit import AuditOptions, run_audit
from ledger.client import Ledger
from ledger.data import Classification, DataSharing
from ledger.errors import ChainUnavailable
from ledger.keys import Signer
from ledger.logs import LogScanner
from ledger.manifest import Manifest
from ledger.membership import MemberKind, Role
from ledger.testing import STANDARD_COUNCIL, MemberSpec, deploy_and_admit

#: The members this benchmark admits beside the standard council (ledger.testing.STANDARD_COUNCIL).
BENCH_MEMBERS: dict[str, MemberSpec] = {
    "dept_a": ("卫健委", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "dept_b": ("城管", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "treasurer": ("财政局", MemberKind.DEPARTMENT, [Role.TREASURER]),
    "cm_a": ("委员会甲", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE]),
    "cm_b": ("委员会乙", MemberKind.ENTERPRISE, [Role.FUND_COMMITTEE]),
    "resident": ("居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
}
LABELS = ["deployer", *STANDARD_COUNCIL, *BENCH_MEMBERS]
RECORD_GAS = 120_000  # gas limit per recordAccess (it uses ~55k)
GETH_BLOCK_GAS = 300_000_000  # gas target 150M: ~2,700 records a block would fill it
GETH_BACKLOG = 2_000  # unmined records in the pool at most: every block stays under the target
GETH_GAS_PRICE = 2 * 10**9
SEND_BATCH = 400
DEMO_EVENTS = 179  # the demo chain's size (scripts/seed_demo), as a cut of the generated chain


def log(msg: str) -> None:
    print(msg, flush=True)


def node_batch(url: str, calls: list[tuple[str, list[Any]]], timeout: float) -> list[dict[str, Any]]:
    """The answers (``result`` or ``error``) to ``calls`` in one JSON-RPC batch with a long timeout
    (bulk generation: 400 signed records at once, a Ganache block of 2,000 of them)."""
    provider = HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
    try:
        answers = provider.make_batch_request([(RPCEndpoint(m), p) for m, p in calls])
    except RequestException as exc:
        raise ChainUnavailable(url, f"batch of {len(calls)}: {exc}") from exc
    if not isinstance(answers, list):
        raise ChainUnavailable(url, f"batch refused: {answers.get('error')}")
    return [dict(a) for a in answers]


def _signer(label: str) -> Signer:
    return Signer(label, Account.from_key(keccak(text=f"bench-{label}")))


# ---------------------------------------------------------------------- chains


@contextmanager
def ganache_chain(root: Path, block_gas: int) -> Iterator[dict[str, Any]]:
    from ledger.chain import ChainConfig, Ganache, free_port

    cfg = ChainConfig.load(port=free_port(), db_path=root / "chain", block_gas_limit=block_gas)  # type: ignore[arg-type]
    g = Ganache(cfg)
    g.start()
    try:
        yield {"kind": "ganache", "url": cfg.url, "block_gas_limit": block_gas, "pid": g.pid}
    finally:
        g.stop(timeout=30)


@contextmanager
def geth_chain(root: Path, fund: list[str]) -> Iterator[dict[str, Any]]:
    from ledger.network.clique import CliqueNetwork
    from ledger.network.config import NetworkConfig
    from ledger.network.install import GETH_VERSION

    extra = [
        "--gcmode", "archive",  # the audit calls views at past blocks (balance samples, prefix heads)
        "--miner.gaslimit", str(GETH_BLOCK_GAS),
        "--txpool.globalslots", "20000", "--txpool.accountslots", "20000",
        "--txpool.globalqueue", "20000", "--txpool.accountqueue", "20000",
        "--rpc.batch-response-max-size", str(1 << 30),
    ]  # fmt: skip

    class BenchClique(CliqueNetwork):
        def command(self, spec: Any) -> list[str]:
            return [*super().command(spec), *extra]

    cfg = NetworkConfig.load(
        data_dir=root / "net",
        http_port=0,
        p2p_port=0,
        authrpc_port=0,
        period=1,
        nodes=1,
        block_gas_limit=GETH_BLOCK_GAS,
    )
    net = BenchClique(cfg)
    try:
        net.up(fund=fund, progress=lambda m: log(f"  geth: {m}"))
        yield {
            "kind": "geth-clique",
            "url": net.urls[0],
            "geth": GETH_VERSION,
            "nodes": 1,
            "period_s": 1,
            "block_gas_limit": GETH_BLOCK_GAS,
            "flags": extra,
            "pid": net.pid(net.nodes[0]),
        }
    finally:
        net.down()


# ---------------------------------------------------------------------- the chain's content


def setup(url: str, root: Path, kind: str, s: dict[str, Signer]) -> tuple[Ledger, Manifest, int]:
    """The suite, members, a grant, a small fund history. Returns (ledger, manifest, grant id)."""
    timelock = 60 if kind == "ganache" else 2
    done = deploy_and_admit(  # geth funded every account at genesis
        url, s, root / "deployment.json", STANDARD_COUNCIL, BENCH_MEMBERS,
        fund_accounts=kind == "ganache", fund_quorum=2, fund_timelock=timelock,
    )
    led = done.ledger
    m = Manifest.load(root / "deployment.json")
    ds = DataSharing(led)
    did, _ = ds.register(
        s["dept_a"], "bench dataset", Classification.INTERNAL, keccak(text="m"), keccak(text="s"), keccak(text="c")
    )
    rid, _ = ds.request_access(s["dept_b"], did, 1, keccak(text="p"), keccak(text="f"), 3 * 365 * 24 * 3600)
    gid = int(ds.approve_as_owner(s["dept_a"], rid).event("GrantCreated").args["grantId"])
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
    if kind == "ganache":
        led.rpc("evm_increaseTime", [timelock + 1])
        led.rpc("evm_mine", [])
    else:
        time.sleep(timelock + 1.5)
    led.transact(s["treasurer"], "CoGovFund", "payMilestone", 1, 0, 400, keccak(text="i"))
    return led, m, gid


class Records:
    """Pre-signed ``recordAccess`` transactions of the dataset owner under one grant, numbered by nonce."""

    def __init__(self, led: Ledger, sender: Signer, gid: int, gas_price: int) -> None:
        self.led = led
        self.sender = sender
        self.gid = gid
        self.gas_price = gas_price
        self.contract = led.contract("DataSharing")
        self.chain_id = led.chain_id
        self.base = self.nonce("pending")  # record i has nonce base + i
        self.selector = keccak(text="recordAccess(uint256,bytes32,uint64)")[:4]
        assert (
            self.contract.encode_abi("recordAccess", args=[gid, b"\x01" * 32, 7])
            == "0x" + (self.selector + gid.to_bytes(32, "big") + b"\x01" * 32 + (7).to_bytes(32, "big")).hex()
        )
        self.refused = 0

    def nonce(self, tag: str) -> int:
        return int(self.led.rpc("eth_getTransactionCount", [self.sender.address, tag]), 16)

    def raw(self, nonce: int) -> tuple[str, list[Any]]:
        i = nonce - self.base
        # recordAccess(uint256,bytes32,uint64): three static words (encode_abi per record is slow)
        data = self.selector + self.gid.to_bytes(32, "big") + keccak(text=f"q{i}") + (i % 100).to_bytes(32, "big")
        tx = {
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": RECORD_GAS,
            "gasPrice": self.gas_price,
            "to": self.contract.address,
            "data": data,
            "value": 0,
        }
        return ("eth_sendRawTransaction", ["0x" + self.sender.sign_transaction(tx).hex()])

    def send(self, first: int, n: int, retries: int = 8) -> None:
        """Send nonces [first, first+n); on a reset connection, reconnect and resend from the pool's nonce."""
        raws = [self.raw(k) for k in range(first, first + n)]
        for attempt in range(retries + 1):
            try:
                for i in range(0, len(raws), SEND_BATCH):
                    answers = node_batch(self.led.url, raws[i : i + SEND_BATCH], 300)
                    for a in answers:  # "already known" after a retry is fine; anything else is reported
                        if a.get("error") is not None and "known" not in str(a["error"]).lower():
                            self.refused += 1
                            if self.refused <= 3:
                                log(f"    a record was refused: {a['error']}")
                return
            except ChainUnavailable as exc:
                if attempt == retries:
                    raise
                log(f"    send failed ({str(exc)[:120]}); reconnecting (attempt {attempt + 1})")
                time.sleep(2 * (attempt + 1))
                pending = self.nonce("pending")
                raws = [r for k, r in zip(range(first, first + n), raws, strict=True) if k >= pending]


def generate(
    led: Ledger,
    kind: str,
    rec: Records,
    start_events: int,
    targets: list[int],
    per_block: int,
    on_cut: Callable[[int, int], None],
) -> list[tuple[int, int]]:
    """Send records until the chain holds each target count of events; ``on_cut(events, block)`` at each
    (the audit runs there, so the figures of a size survive a failure while generating the next)."""
    cuts: list[tuple[int, int]] = []
    t0 = time.monotonic()
    sent = 0  # records sent
    last_print = 0
    events = start_events
    if kind == "ganache":
        led.rpc("miner_stop", [])
    for target in sorted(targets):
        todo = target - events
        goal = sent + max(0, todo)
        while sent < goal:
            if kind == "ganache":
                n = min(per_block, goal - sent)
                rec.send(rec.base + sent, n)
                _retry(lambda: node_batch(led.url, [("evm_mine", [])], 600))  # a big block takes Ganache a while
            else:
                # keep at most GETH_BACKLOG unmined: blocks stay under the gas target
                mined = rec.nonce("latest") - rec.base
                room = GETH_BACKLOG - (sent - mined)
                if room < SEND_BATCH:
                    time.sleep(0.2)
                    continue
                n = min(room, goal - sent)
            if kind == "geth":
                rec.send(rec.base + sent, n)
            sent += n
            if sent - last_print >= 5_000 or sent == goal:
                last_print = sent
                dt = time.monotonic() - t0
                log(f"    {sent:,} records sent ({sent / dt:,.0f}/s, {dt:.0f}s, head {led.block_number()})")
        # wait until every record sent is mined, then cut; records the node lost (neither mined nor
        # pending: seen on Ganache with a large pool) are sent again from the chain's own nonce
        last, stalls = -1, 0
        while (mined := rec.nonce("latest") - rec.base) < sent:
            if kind == "ganache":
                _retry(lambda: node_batch(led.url, [("evm_mine", [])], 600))
            else:
                time.sleep(0.5)
            stalls = stalls + 1 if mined == last else 0
            last = mined
            if stalls >= (2 if kind == "ganache" else 20) and rec.nonce("pending") - rec.base < sent:
                log(
                    f"    {sent - mined:,} records neither mined nor pending: "
                    f"sending again from nonce {rec.base + mined}"
                )
                rec.send(rec.base + mined, sent - mined)
                stalls = 0
        head = led.block_number()
        events += max(0, todo)
        cuts.append((events, head))
        dt = time.monotonic() - t0
        log(
            f"  cut: {events:,} events at block {head} "
            f"({sent:,} records mined in {dt:.0f}s, {sent / max(dt, 1e-9):,.0f}/s)"
        )
        if kind == "ganache":
            led.rpc("miner_start", [])
        on_cut(events, head)
        if kind == "ganache":
            led.rpc("miner_stop", [])
        t0 += time.monotonic() - t0 - dt  # the audit's time is not generation time
    if kind == "ganache":
        led.rpc("miner_start", [])
    return cuts


def _retry(fn: Callable[[], Any], tries: int = 8) -> Any:
    for attempt in range(tries):
        try:
            return fn()
        except ChainUnavailable:
            if attempt == tries - 1:
                raise
            time.sleep(2 * (attempt + 1))
    return None


# ---------------------------------------------------------------------- timing


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_audit(url: str, m: Manifest, to_block: int | None, repeat: int, node_pid: int | None) -> dict[str, Any]:
    """The fastest of ``repeat`` audits (the machine is shared: the minimum is the least disturbed), with
    the CPU seconds the auditor and the node spent on it (which other users of the machine do not inflate)."""
    best: dict[str, Any] | None = None
    cpus: list[tuple[float, float]] = []
    for _ in range(repeat):
        led = Ledger(url, m)
        c0, n0 = time.process_time(), cpu_seconds(node_pid)
        t0 = time.monotonic()
        report = run_audit(led, m, AuditOptions(to_block=to_block))
        took = time.monotonic() - t0
        cpus.append((time.process_time() - c0, cpu_seconds(node_pid) - n0))
        if best is None or took < best["seconds"]:
            phases = dict(report.scan.phases)
            phases["report"] = round(took - sum(phases.values()), 4)
            best = {
                "events": report.scan.events,
                "blocks": report.scan.blocks,
                "to_block": report.scan.to_block,
                "seconds": round(took, 3),
                "phases": phases,
                "rpc_requests": report.summary["rpc_requests"],
                "ok": report.ok,
                "errors": sorted({f.rule for f in report.errors}),
            }
    assert best is not None
    best["auditor_cpu_seconds"] = round(min(c for c, _ in cpus), 3)
    best["node_cpu_seconds"] = round(min(n for _, n in cpus), 3)
    return best


def profile_audit(url: str, m: Manifest, to_block: int | None) -> str:
    prof = cProfile.Profile()
    prof.enable()
    run_audit(Ledger(url, m), m, AuditOptions(to_block=to_block))
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
    return buf.getvalue()


def demo_chain(repeat: int) -> dict[str, Any]:
    """The real demo scenario (cogov.demo, as tests/ledger/test_audit_demo.py builds it) on a private Ganache."""
    from bench._common import PASSWORD
    from cogov.demo import bootstrap, seed_capabilities
    from ledger.config import Settings
    from ledger.testing import start_ganache

    with tempfile.TemporaryDirectory(prefix="cogov-audit-bench-demo-") as tmp:
        root = Path(tmp)
        g = start_ganache(root / "chain")
        try:
            settings = Settings(env="test", rpc_urls=[g.config.url], keystore_dir=root / "keys",
                                manifest_path=root / "deployment.json",
                                gateway_store_dir=root / "gw", gateway_master_key_file=root / "master.key")
            seed_capabilities(bootstrap(settings, PASSWORD, state_dir=root / "state"))
            m = Manifest.load(root / "deployment.json")
            return time_audit(g.config.url, m, None, repeat, g.pid)
        finally:
            g.stop(timeout=30)


# ---------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 and 5,000 events")
    ap.add_argument("--sizes", type=int, nargs="+", help="event counts to audit (cuts of one generated chain)")
    ap.add_argument("--chain", choices=["auto", "geth", "ganache"], default="auto")
    ap.add_argument("--per-block", type=int, default=2000, help="Ganache: records mined per evm_mine")
    ap.add_argument("--repeat", type=int, default=3, help="audits per size (the fastest is kept)")
    ap.add_argument("--demo", action="store_true", help="also build the real demo chain (Ganache) and audit it")
    ap.add_argument("--profile", action="store_true", help="cProfile the largest audit")
    ap.add_argument("--out", default="audit_scaling", help="bench/results/<out>.json")
    args = ap.parse_args()
    sizes = args.sizes or ([1_000, 5_000] if args.quick else [DEMO_EVENTS, 10_000, 100_000])
    kind = args.chain
    if kind == "auto":
        from ledger.network.install import installed_geth

        kind = "geth" if installed_geth() is not None else "ganache"
    env = environment()
    log(f"environment: {env}")
    s = {label: _signer(label) for label in LABELS}
    result: dict[str, Any] = {"chain": kind, "sizes": sizes}
    t_all = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cogov-audit-bench-") as tmp:
        root = Path(tmp)
        chain = (
            geth_chain(root, [sg.address for sg in s.values()])
            if kind == "geth"
            else ganache_chain(root, max(30_000_000, (args.per_block + 10) * RECORD_GAS))
        )
        with chain as info:
            url = info["url"]
            result["chain_info"] = info
            log(f"chain: {info}")
            t0 = time.monotonic()
            led, m, gid = setup(url, root, kind, s)
            scanner = LogScanner(led, [d.address for d in m.contracts.values()], max_blocks=5000)
            have = sum(len(r.logs) for r in scanner.scan(m.start_block, led.block_number(), with_headers=False))
            base_head = led.block_number()
            log(f"  setup: {have} events at block {base_head} in {time.monotonic() - t0:.0f}s")
            rec = Records(led, s["dept_a"], gid, GETH_GAS_PRICE if kind == "geth" else led.gas_price())
            runs: list[dict[str, Any]] = []
            audit_seconds = [0.0]

            def on_cut(events: int, block: int) -> None:
                a0 = time.monotonic()
                r = time_audit(url, m, block, args.repeat, info.get("pid"))
                r["label"] = "setup only" if block == base_head else f"{events:,} events"
                runs.append(r)
                log(
                    f"  audit {r['events']:>8,} events in {r['blocks']:>5,} blocks: {r['seconds']:7.3f}s "
                    f"(cpu: auditor {r['auditor_cpu_seconds']:.3f}s, node {r['node_cpu_seconds']:.3f}s) "
                    f"phases {r['phases']} {'ok' if r['ok'] else 'FINDINGS ' + ','.join(r['errors'])}"
                )
                audit_seconds[0] += time.monotonic() - a0

            on_cut(have, base_head)
            audit_seconds[0] = 0.0
            t1 = time.monotonic()
            cuts = [(have, base_head)]
            try:
                cuts += generate(led, kind, rec, have, [n for n in sizes if n > have], args.per_block, on_cut)
            except Exception as exc:  # keep the sizes already audited
                result["error"] = f"generation stopped: {type(exc).__name__}: {str(exc)[:300]}"
                log(result["error"])
            gen = time.monotonic() - t1 - audit_seconds[0]
            records = max(r["events"] for r in runs) - have
            result["generation"] = {
                "records": records,
                "seconds": round(gen, 1),
                "records_per_second": round(records / max(gen, 1e-9), 1),
            }
            if args.profile:
                log(profile_audit(url, m, cuts[-1][1]))
    if args.demo:
        log("demo chain (Ganache, scripts/seed_demo scenario):")
        try:
            result["demo"] = demo_chain(args.repeat)
        except Exception as exc:  # the demo scenario is not this benchmark's: report, keep the figures
            result["demo"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        log(f"  demo: {result['demo']}")
    base = runs[0]
    per_event = {"scan", "replay"}
    for r in runs:
        r["variable_seconds"] = round(r["seconds"] - base["seconds"], 3)
        r["per_event_phases_seconds"] = round(sum(v for k, v in r["phases"].items() if k in per_event), 3)
        extra = r["events"] - base["events"]
        r["seconds_per_1000_events"] = round(1000 * r["seconds"] / r["events"], 4)
        r["variable_seconds_per_1000_events"] = round(1000 * r["variable_seconds"] / extra, 4) if extra > 0 else None
    result["runs"] = runs
    big = [r for r in runs if r["events"] >= 10_000]
    if len(big) >= 2:
        a, b = big[0], big[-1]
        result["ratio"] = {
            "sizes": f"{b['events']:,} / {a['events']:,} events",
            "events": round(b["events"] / a["events"], 2),
            "total_time": round(b["seconds"] / a["seconds"], 2),
            "variable_time": round(b["variable_seconds"] / a["variable_seconds"], 2),
            "variable_events": round((b["events"] - base["events"]) / (a["events"] - base["events"]), 2),
            "scan_plus_replay_time": round(b["per_event_phases_seconds"] / a["per_event_phases_seconds"], 2),
            "auditor_cpu": round(b["auditor_cpu_seconds"] / a["auditor_cpu_seconds"], 2),
            "node_cpu": round(b["node_cpu_seconds"] / max(a["node_cpu_seconds"], 1e-9), 2),
            "auditor_plus_node_cpu": round(
                (b["auditor_cpu_seconds"] + b["node_cpu_seconds"]) / (a["auditor_cpu_seconds"] + a["node_cpu_seconds"]),
                2,
            ),
        }
    result["wall_seconds"] = round(time.monotonic() - t_all, 1)
    log("")
    log(f"chain: {kind}; each size is a prefix of one generated chain (run_audit to_block)")
    log(
        f"{'size':>14} {'events':>8} {'blocks':>6} {'total s':>8} {'var s':>7} {'s/1k ev':>8} {'var s/1k':>8} "
        f"{'cpu aud':>7} {'cpu node':>8}  phases"
    )
    rows = ([result["demo"] | {"label": "demo (ganache)"}] if "seconds" in result.get("demo", {}) else []) + runs
    for r in rows:
        log(
            f"{r['label']:>14} {r['events']:>8,} {r['blocks']:>6,} {r['seconds']:>8.3f} "
            f"{r.get('variable_seconds', float('nan')):>7.3f} {1000 * r['seconds'] / r['events']:>8.4f} "
            f"{r.get('variable_seconds_per_1000_events') or float('nan'):>8.4f} "
            f"{r['auditor_cpu_seconds']:>7.3f} {r['node_cpu_seconds']:>8.3f}  {r['phases']}"
        )
    if "ratio" in result:
        q = result["ratio"]
        log(
            f"{q['sizes']}: events x{q['events']}, total time x{q['total_time']}; variable part: events "
            f"x{q['variable_events']} -> time x{q['variable_time']}; scan+replay x{q['scan_plus_replay_time']}; "
            f"CPU seconds: auditor x{q['auditor_cpu']}, node x{q['node_cpu']}, both x{q['auditor_plus_node_cpu']}"
        )
    emit(args.out, result)


if __name__ == "__main__":
    main()
