"""Besu's permissions_config.toml rendered from a known registry state on eth-tester."""

from __future__ import annotations

import os
import random
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3.contract import Contract

from ledger.besu import (
    MemberRecord,
    NodeRecord,
    allowlists,
    read_registry_state,
    render_permissions_config,
    sync_permissions_config,
    watch_permissions_config,
    write_permissions_config,
)
from ledger.errors import ValidationFailed
from ledger.testing.evm import Chain, Council, deploy_registry, roles_mask

EXPECTED = Path(__file__).parent / "data" / "permissions_config.expected.toml"
ENODE = {n: f"{n:x}" * 128 for n in range(1, 7)}  # "111…", "222…", …


@pytest.fixture(scope="module")
def state() -> Iterator[tuple[Chain, Contract]]:
    """A registry with active, removed and rotated members and nodes (ids 1..6)."""
    chain = Chain()
    a = chain.accounts
    registry = deploy_registry(chain, a[1:4])
    council = Council(chain, registry, a[1:4])
    # Validator nodes of the three council departments (one IPv6).
    council.enact("AddNode", 1, ENODE[1], "10.0.1.1", 30303)
    council.enact("AddNode", 2, ENODE[2], "10.0.1.2", 30303)
    council.enact("AddNode", 3, ENODE[3], "fd00::3", 30303)
    # 4: 卫健委 rotates its key; its old account must disappear from the list.
    council.admit("卫健委", "Department", roles_mask("Department"), a[4])
    council.enact("AddNode", 4, ENODE[4], "10.0.1.4", 30303)
    council.enact("AddAccount", 4, a[5])
    council.enact("RemoveAccount", 4, a[4])
    # 5: 城管局 is removed: neither its account nor its node stays.
    council.admit("城管局", "Department", roles_mask("Department"), a[6])
    council.enact("AddNode", 5, ENODE[5], "10.0.1.5", 30303)
    council.enact("RemoveMember", 5)
    # 6: a contributor without nodes; one node added then removed from member 1.
    council.admit("社区居委会", "ResidentGroup", roles_mask("Contributor"), a[7])
    council.enact("AddNode", 1, ENODE[6], "10.0.1.6", 30304)
    council.enact("RemoveNode", 1, ENODE[6], "10.0.1.6", 30304)
    yield chain, registry


def test_read_registry_state(state: tuple[Chain, Contract]) -> None:
    chain, registry = state
    a = chain.accounts
    members = read_registry_state(chain.w3, registry.address)
    assert [m.member_id for m in members] == [1, 2, 3, 4, 5, 6]
    assert [m.active for m in members] == [True, True, True, True, False, True]
    assert members[0].nodes == (NodeRecord(ENODE[1], "10.0.1.1", 30303),)
    assert members[3].accounts == (a[5],)
    assert members[3].name == "卫健委"
    assert members[4].nodes == ()


def test_render_matches_expected_file(state: tuple[Chain, Contract]) -> None:
    chain, registry = state
    text = render_permissions_config(read_registry_state(chain.w3, registry.address))
    if os.environ.get("COGOV_UPDATE_EXPECTED") == "1":
        EXPECTED.write_text(text, encoding="utf-8")
    assert text == EXPECTED.read_text(encoding="utf-8")


def test_allowlists_agree_with_the_contract_views(state: tuple[Chain, Contract]) -> None:
    """The file allows exactly what transactionAllowed/connectionAllowed allow."""
    chain, registry = state
    parsed = tomllib.loads(
        render_permissions_config(read_registry_state(chain.w3, registry.address))
    )
    for account in chain.accounts:
        on_chain = registry.functions.transactionAllowed(account, account, 0, 0, 0, b"").call()
        assert (account.lower() in parsed["accounts-allowlist"]) == on_chain, account
    candidates = [
        (ENODE[1], "10.0.1.1", 30303),
        (ENODE[2], "10.0.1.2", 30303),
        (ENODE[3], "fd00::3", 30303),
        (ENODE[4], "10.0.1.4", 30303),
        (ENODE[5], "10.0.1.5", 30303),
        (ENODE[6], "10.0.1.6", 30304),
    ]
    for enode, ip, port in candidates:
        on_chain = registry.functions.connectionAllowed(enode, ip, port).call()
        url = NodeRecord(enode, ip, port).url
        assert (url in parsed["nodes-allowlist"]) == on_chain, url
    assert len(parsed["nodes-allowlist"]) == 4


def test_render_is_deterministic_and_skips_inactive() -> None:
    node = NodeRecord("ab" * 64, "10.0.0.1", 30303)
    members = [
        MemberRecord(1, "a", True, ("0xBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",), (node,)),
        MemberRecord(2, "b", True, ("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",), (node,)),
        MemberRecord(3, "c", False, ("0x" + "cc" * 20,), (NodeRecord("cd" * 64, "10.0.0.3", 1),)),
    ]
    texts = set()
    for seed in range(5):
        shuffled = list(members)
        random.Random(seed).shuffle(shuffled)
        texts.add(render_permissions_config(shuffled))
    assert len(texts) == 1
    lists = allowlists(members)
    assert lists.accounts == ("0x" + "aa" * 20, "0x" + "bb" * 20)
    assert lists.nodes == (node.url,)  # de-duplicated


def test_render_empty_is_valid_toml() -> None:
    parsed = tomllib.loads(render_permissions_config([]))
    assert parsed == {"accounts-allowlist": [], "nodes-allowlist": []}


def test_node_url_forms() -> None:
    enode = "ab" * 64
    assert NodeRecord(enode, "10.0.0.1", 30303).url == f"enode://{enode}@10.0.0.1:30303"
    assert NodeRecord(enode, "fd00::1", 30303).url == f"enode://{enode}@[fd00::1]:30303"
    assert NodeRecord(enode, "node1.cogov.local", 1).url == f"enode://{enode}@node1.cogov.local:1"


@pytest.mark.parametrize(
    ("enode", "ip", "port", "field"),
    [
        ("AB" * 64, "10.0.0.1", 30303, "enode_id"),
        ("ab" * 63, "10.0.0.1", 30303, "enode_id"),
        ("ab" * 64, 'x"]', 30303, "ip"),
        ("ab" * 64, "", 30303, "ip"),
        ("ab" * 64, "10.0.0.1", 0, "port"),
        ("ab" * 64, "10.0.0.1", 65536, "port"),
    ],
)
def test_node_record_refuses_malformed(enode: str, ip: str, port: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        NodeRecord(enode, ip, port)
    assert info.value.field == field


def test_member_record_refuses_malformed_account() -> None:
    with pytest.raises(ValidationFailed):
        MemberRecord(1, "a", True, ('0x12"',))


def test_write_is_atomic_and_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "node1" / "permissions_config.toml"
    assert write_permissions_config(target, "a = 1\n") is True
    assert target.read_text() == "a = 1\n"
    assert write_permissions_config(target, "a = 1\n") is False  # unchanged: not rewritten
    assert write_permissions_config(target, "a = 2\n") is True
    assert target.read_text() == "a = 2\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["permissions_config.toml"]


def test_sync_writes_then_reports_no_change(state: tuple[Chain, Contract], tmp_path: Path) -> None:
    chain, registry = state
    target = tmp_path / "permissions_config.toml"
    assert sync_permissions_config(chain.w3, registry.address, target) is True
    assert target.read_text(encoding="utf-8") == EXPECTED.read_text(encoding="utf-8")
    assert sync_permissions_config(chain.w3, registry.address, target) is False


def test_watch_rewrites_when_membership_changes(
    state: tuple[Chain, Contract], tmp_path: Path
) -> None:
    chain, registry = state
    target = tmp_path / "permissions_config.toml"
    snap = chain.tester.take_snapshot()
    council = Council(chain, registry, chain.accounts[1:4])
    reloads: list[str] = []
    rounds = iter(range(4))

    def step() -> bool:
        """Round 0: first sync; round 1: admit a member; round 2: nothing new; then stop."""
        n = next(rounds)
        if n == 1:
            council.admit("住建局", "Department", 0, chain.accounts[8])
        return n == 3

    try:
        changes = watch_permissions_config(
            chain.w3,
            registry.address,
            target,
            on_change=lambda: reloads.append("reload"),
            should_stop=step,
            sleep=lambda s: None,
        )
        assert changes == 2 and reloads == ["reload", "reload"]
        assert chain.accounts[8].lower() in target.read_text(encoding="utf-8")
    finally:
        chain.tester.revert_to_snapshot(snap)
