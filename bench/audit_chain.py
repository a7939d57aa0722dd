"""The generated chain that bench/audit_scaling.py audits: a chain (geth Clique or Ganache), the
suite and a small history on it (``setup``), then pre-signed access records sent in JSON-RPC
batches until the chain holds each target count of events (``generate``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak
from requests import RequestException
from web3 import HTTPProvider
from web3.types import RPCEndpoint

from ledger.client import Ledger
from ledger.data import Classification, DataSharing, Terms
from ledger.errors import ChainUnavailable
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.testing import STANDARD_COUNCIL, STANDARD_MEMBERS, MemberSpec, deploy_and_admit

#: The members this benchmark admits beside the standard council: six of the standard members.
BENCH_MEMBERS: dict[str, MemberSpec] = {
    label: STANDARD_MEMBERS[label]
    for label in ("dept_a", "dept_b", "treasurer", "committee_a", "committee_b", "resident")
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


def bench_signer(label: str) -> Signer:
    return Signer(label, Account.from_key(keccak(text=f"bench-{label}")))


# ---------------------------------------------------------------------- chains


@contextmanager
def ganache_chain(root: Path, block_gas: int) -> Iterator[dict[str, Any]]:
    from ledger.chain import ChainConfig, Ganache
    from ledger.process import free_port

    cfg = ChainConfig.load(port=free_port(), db_path=root / "chain", block_gas_limit=block_gas)
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
        s["dept_a"], "bench dataset", Classification.INTERNAL, keccak(text="m"), keccak(text="s"), keccak(text="c"), 1
    )
    rid, _ = ds.request_access(s["dept_b"], did, Terms(1, keccak(text="p"), 0b1, 3 * 365 * 24 * 3600))
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
        0,
    )
    led.transact(s["committee_a"], "CoGovFund", "vote", 1, True)
    led.transact(s["committee_b"], "CoGovFund", "vote", 1, True)
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
        self.selector = keccak(text="recordAccess(uint256,bytes32,uint64,uint256)")[:4]
        one = (1).to_bytes(32, "big")  # the field mask: field 0
        assert (
            self.contract.encode_abi("recordAccess", args=[gid, b"\x01" * 32, 7, 1])
            == "0x" + (self.selector + gid.to_bytes(32, "big") + b"\x01" * 32 + (7).to_bytes(32, "big") + one).hex()
        )
        self.refused = 0

    def nonce(self, tag: str) -> int:
        return int(self.led.rpc("eth_getTransactionCount", [self.sender.address, tag]), 16)

    def raw(self, nonce: int) -> tuple[str, list[Any]]:
        i = nonce - self.base
        # recordAccess(uint256,bytes32,uint64,uint256): four static words (encode_abi per record is slow)
        data = (
            self.selector + self.gid.to_bytes(32, "big") + keccak(text=f"q{i}") + (i % 100).to_bytes(32, "big")
            + (1).to_bytes(32, "big")
        )
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
                retry(lambda: node_batch(led.url, [("evm_mine", [])], 600))  # a big block takes Ganache a while
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
                retry(lambda: node_batch(led.url, [("evm_mine", [])], 600))
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


def retry(fn: Callable[[], Any], tries: int = 8) -> Any:
    for attempt in range(tries):
        try:
            return fn()
        except ChainUnavailable:
            if attempt == tries - 1:
                raise
            time.sleep(2 * (attempt + 1))
    return None
