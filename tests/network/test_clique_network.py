"""The ledger on a real 3-node geth Clique network: real block times, failing nodes, signer votes.

The tests run in order on one network (module fixture), as a department
network lives: it starts, the suite is deployed and members admitted, a node
is killed under load and restarted, a fourth department's signer is voted in
and out by the council, and a partition forces a reorg that the indexer rolls
back.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from cogov.demo import COUNCIL, MEMBERS, DemoContext, seed_members
from cogov.demo.fund import side_by_side
from ledger.audit import AuditOptions, run_audit
from ledger.chain import rpc
from ledger.client import Ledger, TxReceipt
from ledger.index import Indexer
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.membership import ChangeKind, MemberKind, Registry, Role
from ledger.network.signers import sync_signers
from ledger.network.writes import WriteStats, confirmed_write
from ledger.process import free_port
from tests.conftest import TEST_PASSWORD
from tests.network.conftest import DEMO_KEYS, PERIOD, Net

pytestmark = [pytest.mark.network, pytest.mark.timeout(240)]

_state: dict[str, Any] = {}
# Writes that are read back or counted as acknowledged wait for 2 blocks: on Clique a block
# 1 deep can still be replaced (an in-turn sibling outweighs an out-of-turn one), taking a
# just-returned receipt with it (seen: an approval gone, then RegistryThresholdNotMet).
CONFIRMATIONS = 2
FUND_TIMELOCK = 8  # seconds: the demo's approved project unlocks within the run (real block time)


def ledger_for(net: Net, urls: list[str] | str | None = None, **kw: Any) -> Ledger:
    m: Manifest = _state["manifest"]
    led = Ledger(urls or net.net.urls, m, **kw)
    for name, dep in m.contracts.items():
        led.register(name, dep.address)
    return led


def council(net: Net) -> list[Signer]:
    return [net.signer(1), net.signer(2), net.signer(3)]


def wait_until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


# ---------------------------------------------------------------- 1. start


def test_three_node_network_starts_from_nothing(network: Net) -> None:
    net = network.net
    status = net.status()
    assert [s.name for s in status] == ["node1", "node2", "node3"]
    assert all(s.running and s.live and s.live.peers == 2 and s.live.mining and s.live.is_signer for s in status)
    assert net.signers() == sorted(n.signer for n in net.nodes)
    assert all("Geth/v1.13.15" in rpc(n.url, "web3_clientVersion") for n in net.nodes)
    # Real block times: consecutive blocks are at least one period apart.
    head = net.wait_blocks(3, timeout=30)
    stamps = [
        int(rpc(net.urls[0], "eth_getBlockByNumber", [hex(n), False])["timestamp"], 16)
        for n in range(head - 2, head + 1)
    ]
    assert all(b - a >= PERIOD for a, b in itertools.pairwise(stamps))
    # Every node follows the same chain.
    hashes = {rpc(u, "eth_getBlockByNumber", [hex(head), False])["hash"] for u in net.urls}
    assert len(hashes) == 1
    print(f"3-node network up in {network.started_in:.1f}s")


# ---------------------------------------------------------------- 2. the ledger on it


def _cogov(network: Net, root: Path, urls: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, configured as an operator would: through COGOV_* settings."""
    env = {
        **os.environ,
        "COGOV_RPC_URLS": ",".join(urls),
        "COGOV_MANIFEST_PATH": str(root / "deployment.json"),
        "COGOV_KEYSTORE_DIR": str(network.keys_dir),
        "COGOV_KEYSTORE_PASSWORD": TEST_PASSWORD,
        "COGOV_CONFIRMATIONS": str(CONFIRMATIONS),
        "COGOV_AUDIT_REPORT_PATH": str(root / "audit-report.json"),
    }
    return subprocess.run([sys.executable, "-m", "cogov", *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=root)


def test_cli_deploys_the_suite_through_a_list_of_node_urls(
    network: Net, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`cogov deploy` given every node's URL in COGOV_RPC_URLS, a dead one first (the
    ledger fails over to the next); the demo scenario's council, seated by the nodes'
    signer accounts. Every later test uses this deployment."""
    from ledger.deploy import SUITE

    net = network.net
    root = tmp_path_factory.mktemp("deploy")
    urls = [f"http://127.0.0.1:{free_port()}", *net.urls]
    c = council(network)
    (root / "deploy.yml").write_text(
        "council:\n"
        + "".join(f"  - {{name: {name}, kind: {kind.name.lower()}, roles: [{', '.join(r.name.lower() for r in roles)}],"
                  f" account: '{c[i].address}'}}\n" for i, (name, kind, roles) in enumerate(COUNCIL.values()))
        + f"threshold: 2\nfund_quorum: 2\nfund_timelock: {FUND_TIMELOCK}\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    r = _cogov(network, root, urls, "deploy", "--params", "deploy.yml", "--key", "deployer")
    deployed_in = time.monotonic() - started
    assert r.returncode == 0, r.stdout + r.stderr
    m = Manifest.load(root / "deployment.json")
    assert m.chain_id == net.chain_id and sorted(m.contracts) == sorted(step.name for step in SUITE)
    for url in net.urls:  # every node holds the suite
        assert all(rpc(url, "eth_getCode", [d.address, "latest"]) not in ("0x", "") for d in m.contracts.values())
    r = _cogov(network, root, urls, "deploy", "--params", "deploy.yml", "--key", "deployer")
    assert r.returncode == 0 and "nothing to do" in r.stdout, r.stdout + r.stderr  # idempotent
    _state["manifest"] = m
    _state["root"] = root
    print(f"cogov deploy through {len(urls)} URLs (one dead) in {deployed_in:.1f}s")


def test_demo_scenario_waits_for_confirmations_and_reads_from_any_node(network: Net) -> None:
    net = network.net
    c = council(network)
    result_manifest: Manifest = _state["manifest"]
    led = ledger_for(network, confirmations=3)
    reg = Registry(ledger_for(network, confirmations=CONFIRMATIONS))  # reads after its writes
    started = time.monotonic()
    receipt = led.transact(c[0], "MembershipRegistry", "propose", int(ChangeKind.ADMIT_MEMBER),
                                  _admit_payload("卫健委", network.keys["dept_a"].address))
    latency = time.monotonic() - started
    # Three confirmations with real block times: at least two more blocks were sealed.
    assert latency >= 2 * PERIOD * 0.9
    assert led.block_number() >= receipt.block_number + 2
    pid = int(receipt.event("ProposalCreated").args["proposalId"])
    reg.approve(c[1], pid)
    reg.execute(c[0], pid)
    mid_b = reg.admit(c, "城管", MemberKind.DEPARTMENT, [Role.DEPARTMENT], network.keys["dept_b"].address)
    assert mid_b == 5

    # Reads from any node, each alone.
    for url in net.urls:
        r = Registry(ledger_for(network, url))
        assert r.member(4).name == "卫健委" and r.member(5).name == "城管"
        assert r.member_of(network.keys["dept_a"].address) is not None

    # The index takes only blocks past the confirmation depth.
    idx = Indexer(
        led,
        {n: d.address for n, d in result_manifest.contracts.items()},
        str(_state["root"] / "index.db"),
        confirmations=2,
        start_block=result_manifest.start_block,
    )
    res = idx.sync()
    assert res.last_block == res.head - 2
    admitted = idx.events("MembershipRegistry", "MemberAdmitted")
    assert all(e.block_number <= res.last_block for e in admitted)
    net.wait_blocks(3, timeout=30)
    idx.sync()
    names = [idx.decode_args(e)["name"] for e in idx.rows("MembershipRegistry", "MemberAdmitted")]
    assert names[-2:] == ["卫健委", "城管"]
    idx.close()


def _admit_payload(name: str, account: str) -> bytes:
    from ledger.membership import encode_change, roles_mask

    return encode_change(ChangeKind.ADMIT_MEMBER, name, int(MemberKind.DEPARTMENT),
                         roles_mask([Role.DEPARTMENT]), account)


def test_full_demo_scenario_runs_on_the_network_and_audits_clean(
    network: Net, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The whole demo seeding (members, data sharing, fund) through the library with
    confirmations, then the auditor against one node's RPC: zero findings."""
    import importlib

    from cogov.demo import CAPABILITIES
    from ledger.config import Settings

    net = network.net
    root = tmp_path_factory.mktemp("demo")
    c = council(network)
    signers = {label: c[i] for i, label in enumerate(COUNCIL)}
    signers |= {"weijianwei": network.keys["dept_a"], "chengguan": network.keys["dept_b"]}
    signers |= {label: network.keys[label] for label in DEMO_KEYS}
    assert set(signers) == set(COUNCIL) | set(MEMBERS)
    led = ledger_for(network, confirmations=CONFIRMATIONS)
    settings = Settings(env="test", gateway_store_dir=root / "gw", gateway_master_key_file=root / "master.key",
                        confirmations=CONFIRMATIONS)
    said: list[str] = []
    ctx = DemoContext(settings, led, None, signers, said.append, root / "state")  # type: ignore[arg-type]
    started = time.monotonic()
    # At one block a second the demo's ~90 sequential writes take minutes, so its
    # independent parts run side by side (the ledger's nonce manager keeps each
    # account's transactions in order): the members' admissions (each the same
    # Registry.admit seed_members makes), then the data-sharing and fund parts.
    reg = ctx.registry
    missing = [(label, spec) for label, spec in MEMBERS.items() if reg.member_of(signers[label].address) is None]
    side_by_side(timeout=300, jobs=[lambda s=spec, a=signers[label].address: reg.admit(c, s[0], s[1], s[2], a)
                       for label, spec in missing])
    seed_members(ctx)  # finds every member now, records their ids
    modules = [importlib.import_module(m) for m in CAPABILITIES]
    side_by_side([lambda mod=mod: mod.seed(ctx) for mod in modules], timeout=300)
    # If the parking project was still time-locked (real time here, no evm_increaseTime),
    # run the idempotent fund part again once the lock has passed, as an operator would.
    locked = [m for m in said if "time-locked until" in m]
    if locked:
        unlocks = int(locked[0].split("until ")[1].split(" ")[0])
        wait_until(lambda: int(led.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) >= unlocks,
                   FUND_TIMELOCK + 10, "the fund's time lock to pass")
        importlib.import_module("cogov.demo.fund").seed(ctx)
    seeded_in = time.monotonic() - started
    assert any("pays milestone 1" in m for m in said), said
    assert len(ctx.member_ids) == len(COUNCIL) + len(MEMBERS)

    m: Manifest = _state["manifest"]
    print(f"demo seeded on the 3-node network in {seeded_in:.1f}s")
    audit_started = time.monotonic()
    report = run_audit(ledger_for(network, net.urls[2]), m, AuditOptions())
    print(f"audit against node3 in {time.monotonic() - audit_started:.1f}s")
    assert report.findings == [], [(f.rule, f.message) for f in report.findings]
    assert report.ok and report.scan.events > 50
    assert report.summary["data"]["grants"] >= 3
    _state["demo_events"] = report.scan.events
    # The same through the CLI, given every node's URL behind a dead one (the auditor fails over).
    r = _cogov(network, _state["root"], [f"http://127.0.0.1:{free_port()}", *net.urls], "audit", "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout
    print(f"audit clean: {report.scan.events} events")




# ---------------------------------------------------------------- 3. a node dies under load


def test_kill_a_node_mid_load_loses_and_duplicates_nothing(network: Net) -> None:
    net = network.net
    senders = council(network)
    led = ledger_for(network, confirmations=CONFIRMATIONS)  # starts on node1: the one that dies
    assert led.url == net.node(1).url
    writes_each = 6
    before = {s.address: int(rpc(net.urls[1], "eth_getTransactionCount", [s.address, "latest"]), 16)
              for s in senders}
    proposals_before = int(led.call("MembershipRegistry", "proposalCount"))
    acked: list[tuple[str, TxReceipt]] = []
    errors: list[BaseException] = []
    stats = WriteStats()
    lock = threading.Lock()

    def load(s: Signer) -> None:
        try:
            for _ in range(writes_each):
                payload = _threshold_payload()
                r = confirmed_write(led, s, "MembershipRegistry", "propose",
                                    int(ChangeKind.SET_THRESHOLD), payload, stats=stats, timeout=90)
                with lock:
                    acked.append((s.address, r))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= 4, 60, "the first acknowledged writes")
    net.kill_node(1)  # SIGKILL mid-load
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(acked) == writes_each * len(senders)
    assert led.url != net.node(1).url  # failed over

    survivors = [net.node(2).url, net.node(3).url]
    net.wait_blocks(1, timeout=30)
    for url in survivors:
        for _, r in acked:
            on_node = rpc(url, "eth_getTransactionReceipt", [r.tx_hash])
            assert on_node is not None and on_node["blockHash"] == r.block_hash
            assert int(on_node["status"], 16) == 1
    # Nonces: exactly writes_each new transactions per sender: none lost, none twice.
    for s in senders:
        after = int(rpc(survivors[0], "eth_getTransactionCount", [s.address, "latest"]), 16)
        assert after - before[s.address] == writes_each
    assert len({r.tx_hash for _, r in acked}) == len(acked)
    ids = [int(r.event("ProposalCreated").args["proposalId"]) for _, r in acked]
    assert sorted(ids) == list(range(proposals_before + 1, proposals_before + 1 + len(acked)))
    assert int(led.call("MembershipRegistry", "proposalCount")) == proposals_before + len(acked)
    _state["resends"] = stats.resends


def _threshold_payload() -> bytes:
    from ledger.membership import encode_change

    return encode_change(ChangeKind.SET_THRESHOLD, 2)


def test_restarted_node_catches_up(network: Net) -> None:
    net = network.net
    net.start_node(1)
    net.connect_all()
    height = net.wait_synced(1, timeout=60)
    assert net.head(net.node(1)) >= height
    st = net.node_status(net.node(1))
    assert st.running and st.live is not None and st.live.is_signer
    net.wait_peered(timeout=30)
    # And it seals again: the chain goes on with all three.
    net.wait_blocks(3, timeout=30)
    # The audit against the restarted node alone is still clean: the demo, the
    # writes made while it was down, everything it caught up on.
    m: Manifest = _state["manifest"]
    report = run_audit(ledger_for(network, net.node(1).url), m, AuditOptions())
    assert report.findings == [], [(f.rule, f.message) for f in report.findings]
    assert report.scan.events > _state["demo_events"]  # it holds the writes made while it was down


# ---------------------------------------------------------------- 4. signer votes from the registry


def _enact_all(reg: Registry, c: list[Signer], changes: list[tuple[ChangeKind, tuple[Any, ...]]]) -> list[TxReceipt]:
    """Propose, approve and execute several changes, each round pipelined in one block or two."""
    from ledger.membership import encode_change

    led = reg.ledger
    hashes = [led.send(c[0], led.prepare("MembershipRegistry", "propose", int(k), encode_change(k, *a))).tx_hash
              for k, a in changes]
    pids = [int(led.wait(h).event("ProposalCreated").args["proposalId"]) for h in hashes]
    for approver in c[1 : reg.threshold()]:
        for h in [led.send(approver, led.prepare("MembershipRegistry", "approve", p)).tx_hash for p in pids]:
            led.wait(h)
    hashes = [led.send(c[0], led.prepare("MembershipRegistry", "execute", p)).tx_hash for p in pids]
    return [led.wait(h) for h in hashes]


def test_signer_added_and_removed_through_council_governance(network: Net) -> None:
    net = network.net
    led = ledger_for(network, confirmations=CONFIRMATIONS)
    reg = Registry(led)
    c = council(network)
    registry_address = _state["manifest"].address("MembershipRegistry")
    # Bootstrap: each founding department registers its node (its account signs for it).
    _enact_all(reg, c, [(ChangeKind.ADD_NODE, (i, n.enode_id, "127.0.0.1", n.p2p_port))
                        for i, n in enumerate(net.nodes[:3], start=1)])
    report = sync_signers(led.w3, registry_address, net.urls)
    assert report.in_step and set(report.desired) == {n.signer for n in net.nodes[:3]}
    assert all(not v.proposed_in and not v.proposed_out for v in report.votes)

    # A fourth department runs a node: not a signer until the council admits it.
    n4 = net.add_node()
    net.start_node(n4.name)
    net.connect_all()
    net.wait_synced(n4.name, timeout=60)
    assert n4.signer not in net.signers()
    assert sync_signers(led.w3, registry_address, net.urls).desired == report.desired  # not yet a member

    mid = reg.admit(c, "卫健委信息中心", MemberKind.DEPARTMENT, [Role.DEPARTMENT], n4.signer)
    # A member without a registered node does not seal.
    assert n4.signer not in sync_signers(led.w3, registry_address, net.urls).desired
    _enact_all(reg, c, [(ChangeKind.ADD_NODE, (mid, n4.enode_id, "127.0.0.1", n4.p2p_port))])
    report = sync_signers(led.w3, registry_address, net.urls)
    assert n4.signer in report.desired
    assert all(n4.signer in v.proposed_in for v in report.votes)
    wait_until(lambda: n4.signer in net.signers(), 30, "the new signer to be voted in")
    assert all(n4.signer in net.signers(n.name) for n in net.nodes)
    net.wait_blocks(2, timeout=30)  # the network seals with four signers

    # The council removes the member: its signer is voted out.
    _enact_all(reg, c, [(ChangeKind.REMOVE_MEMBER, (mid,))])
    report = sync_signers(led.w3, registry_address, net.urls)
    assert n4.signer not in report.desired
    wait_until(lambda: n4.signer not in net.signers(), 30, "the signer to be voted out")
    sync_signers(led.w3, registry_address, net.urls)  # withdraws the settled proposals
    assert all(not rpc(u, "clique_proposals") for u in net.urls)
    assert net.signers() == sorted(n.signer for n in net.nodes[:3])
    net.wait_blocks(2, timeout=30)
    net.stop_node(n4.name)


# ---------------------------------------------------------------- 5. a forced reorg


def _sealer(net: Net, url: str, number: int | str = "latest") -> str:
    """The node that sealed block ``number`` on the node at ``url``."""
    block = rpc(url, "eth_getBlockByNumber", [number if isinstance(number, str) else hex(number), False])
    signer = to_checksum_address(rpc(url, "clique_getSigner", [block["number"]]))
    return next(n.name for n in net.net.nodes if n.signer == signer)


def test_partition_forces_a_reorg_that_the_indexer_rolls_back(network: Net, tmp_path: Path) -> None:
    """Partition {node1, node2} | {node3}: node3 alone seals one block holding our
    transaction, the majority seals a longer branch; on reconnection node3 reorgs
    onto it and its index (confirmations=0) rolls the orphaned event back.

    Why it is built this way (the earlier version was flaky): in geth 1.13.15
    ``miner_stop`` only clears the worker's running flag; a block already handed
    to ``Clique.Seal`` is still sealed after its delay (period + out-of-turn
    wiggle) and written as the head. And with three signers Clique lets a signer
    seal at most one of any two consecutive blocks, so an isolated signer seals
    exactly one block. If that one block is such a stray empty one, the signer
    can never seal our transaction while isolated. Here node3 stops sealing while
    still connected, and is partitioned only once its head is a block sealed by
    another node and its stray seal, if any, has long been delivered; our
    transaction is pending in its pool before its miner starts again.
    """
    net = network.net
    a, b, c = net.nodes[:3]
    manifest: Manifest = _state["manifest"]
    contracts = {n: d.address for n, d in manifest.contracts.items()}
    started = time.monotonic()

    # node3 stops sealing while connected: any seal it had in flight lands within
    # period + wiggle (< 3 s); after that the others' blocks bury it.
    rpc(c.url, "miner_stop")
    stopped_at = net.head(c)
    wait_until(lambda: net.head(c) >= stopped_at + 4 and _sealer(network, c.url) != c.name, 30,
               "node3's head to be a block sealed by another node")
    net.disconnect(c.name)
    wait_until(lambda: net.peer_count(c) == 0 and net.peer_count(a) == 1 and net.peer_count(b) == 1, 30,
               "the partition {node1, node2} | {node3}")
    h = net.head(c)
    assert _sealer(network, c.url, h) != c.name  # so node3 may seal h + 1

    # On node3's side only: one transaction, pending in its pool, then one block.
    led_c = ledger_for(network, c.url)
    tx = led_c.send(net.signer_key(c.name), led_c.prepare("MembershipRegistry", "propose",
                                                          int(ChangeKind.SET_THRESHOLD), _threshold_payload())).tx_hash
    wait_until(lambda: int(rpc(c.url, "txpool_status")["pending"], 16) >= 1, 10, "the transaction in node3's pool")
    rpc(c.url, "miner_start")
    wait_until(lambda: rpc(c.url, "eth_getTransactionReceipt", [tx]) is not None, 15,
               "node3 to seal its branch")
    orphan = rpc(c.url, "eth_getTransactionReceipt", [tx])
    assert int(orphan["blockNumber"], 16) == h + 1 and _sealer(network, c.url, h + 1) == c.name
    # The majority's branch outweighs it (each block adds difficulty 1 or 2; node3's one block at most 2).
    wait_until(lambda: net.head(a) >= h + 4, 20, "the majority to seal a longer branch")
    assert rpc(a.url, "eth_getTransactionReceipt", [tx]) is None
    assert rpc(a.url, "eth_getBlockByNumber", [hex(h + 1), False])["hash"] != orphan["blockHash"]

    index_c = Indexer(led_c, contracts, str(tmp_path / "node3.db"), confirmations=0,
                      start_block=manifest.start_block)
    index_a = Indexer(ledger_for(network, a.url), contracts, str(tmp_path / "node1.db"),
                      confirmations=0, start_block=manifest.start_block)
    deep = Indexer(ledger_for(network, c.url), contracts, str(tmp_path / "deep.db"),
                   confirmations=3, start_block=manifest.start_block)
    index_c.sync()
    index_a.sync()
    assert {e.block_hash for e in index_c.events(tx_hash=tx)} == {orphan["blockHash"]}, \
        "node3's branch is indexed at depth 0"
    assert not index_a.events(tx_hash=tx)
    deep_before = deep.sync()
    assert deep_before.last_block is not None and deep_before.last_block < h + 1
    assert not deep.events(tx_hash=tx)

    # Heal the partition: node3 reorgs onto the heavier branch; its orphaned
    # transaction returns to its pool and is sealed again on the one chain.
    net.connect_all()
    # geth redials a node it dialled in the last 35 s only after that (p2p's dialHistoryExpiration:
    # inboundThrottleTime 30 s + 5 s), and a dial made while the partition was being cut counts.
    net.wait_peered(timeout=60, nodes=[a, b, c])
    wait_until(lambda: rpc(c.url, "eth_getBlockByNumber", [hex(h + 1), False])["hash"]
               == rpc(a.url, "eth_getBlockByNumber", [hex(h + 1), False])["hash"], 30, "node3 to reorg")
    wait_until(lambda: all(rpc(n.url, "eth_getTransactionReceipt", [tx]) for n in (a, b, c)), 30,
               "the orphaned transaction on the one surviving chain")
    final = rpc(a.url, "eth_getTransactionReceipt", [tx])
    assert final["blockHash"] != orphan["blockHash"]
    net.wait_blocks(1, timeout=30)

    res_c = index_c.sync()
    assert res_c.reorg_ancestor is not None and res_c.reorg_ancestor <= h, res_c
    assert res_c.removed_events >= 1
    if not res_c.complete:  # a reorg seen mid-sync stops it early; the next call finishes
        index_c.sync()
    assert {e.block_hash for e in index_c.events(tx_hash=tx)} == {final["blockHash"]}
    assert index_a.sync().reorg_ancestor is None  # the winning side never moved
    deep_after = deep.sync()
    assert deep_after.reorg_ancestor is None and deep_after.removed_events == 0  # past the depth
    # Both depth-0 indexes now equal a fresh rebuild from the chain.
    fresh = Indexer(ledger_for(network, b.url), contracts, str(tmp_path / "fresh.db"),
                    confirmations=0, start_block=manifest.start_block)
    top = min(r.last_block or 0 for r in (index_c.sync(), index_a.sync()))
    fresh.sync(to_block=top)
    want = [(e.tx_hash, e.log_index, e.block_hash) for e in fresh.events(to_block=top, limit=10_000)]
    assert any(t == tx for t, _, _ in want)
    for idx in (index_c, index_a):
        assert [(e.tx_hash, e.log_index, e.block_hash) for e in idx.events(to_block=top, limit=10_000)] == want
    for idx in (index_c, index_a, deep, fresh):
        idx.close()
    print(f"forced reorg at block {h + 1} in {time.monotonic() - started:.1f}s")
