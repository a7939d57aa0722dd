"""An intent is signed once on the real 3-node geth Clique network, when node 1 loses an answer.

The ledger's RPC URLs are a real proxy in front of node 1, which forwards
``eth_sendRawTransaction`` and loses the answer, then node 2 (``tests/rpc_proxy.py``).
Every write kind of the wrappers (``tests/ledger/write_kinds.py``) must be one
transaction, with one event, whose hash is the answer:

* ``drop``: node 1 mined it before its answer was lost;
* ``late``: node 2 knew nothing when asked; node 1 mined it just before the same
  bytes reached node 2 (which answers "nonce too low" once it has that block).

The preparations run side by side (one block a second); the writes under test one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from cogov.demo.fund import side_by_side
from ledger.client import Ledger
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.errors import LedgerError
from ledger.membership import MemberKind, Registry, Role
from tests.ledger.write_kinds import KINDS, Act, World, ledger_over, run_once_with_lost_answer
from tests.network.conftest import Net
from tests.rpc_proxy import answer_lost

pytestmark = [pytest.mark.network, pytest.mark.timeout(600)]

# On Clique a block 1 deep can still be replaced by an in-turn sibling (see test_clique_network):
# preparations and the writes under test wait for 2.
CONFIRMATIONS = 2

# label in write_kinds -> the network fixture's key, and the member it is admitted as
MEMBERS = {
    "dept_a": ("dept_a", "卫健委", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "dept_b": ("dept_b", "城管", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "treasurer": ("caizhengju", "财政局", MemberKind.DEPARTMENT, [Role.TREASURER]),
    "committee_a": ("committee-1", "共治委员会-甲", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE]),
    "committee_b": ("committee-2", "共治委员会-乙", MemberKind.ENTERPRISE, [Role.FUND_COMMITTEE]),
    "resident": ("resident-1", "幸福里居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
}


@pytest.fixture(scope="module")
def world(network: Net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The suite on the network (the nodes' signers are the council; no fund time lock), members admitted."""
    root: Path = tmp_path_factory.mktemp("exactly-once-net")
    council = [network.signer(1), network.signer(2), network.signer(3)]
    params = DeployParams(
        council=[
            CouncilSeat(name="街道办", kind=MemberKind.DEPARTMENT, roles=[Role.DEPARTMENT], account=council[0].address),
            CouncilSeat(name="民政局", kind=MemberKind.DEPARTMENT, roles=[Role.DEPARTMENT], account=council[1].address),
            CouncilSeat(name="区数据局", kind=MemberKind.DEPARTMENT, roles=[Role.DATA_GOVERNANCE],
                        account=council[2].address),
        ],
        threshold=2, fund_quorum=2, fund_timelock=0,
    )
    result = deploy(Ledger(network.net.urls, confirmations=CONFIRMATIONS), network.keys["deployer"], params,
                    root / "deployment.json")
    signers = {"c1": council[0], "c2": council[1], **{label: network.keys[k] for label, (k, *_) in MEMBERS.items()}}
    w = World(result.manifest, ledger_over(result.manifest, network.net.urls, confirmations=CONFIRMATIONS),
              signers, pass_time_lock=lambda: None)
    reg = Registry(w.ledger)
    side_by_side(timeout=300, jobs=[
        partial(reg.admit, council, name, kind, roles, signers[label].address)
        for label, (_, name, kind, roles) in MEMBERS.items()
    ])
    yield w


@pytest.mark.parametrize("mode", ["drop", "late"])
def test_every_write_kind_is_signed_once_when_node_1_loses_the_answer(world: World, network: Net, mode: str) -> None:
    kinds = sorted(KINDS)
    acts: dict[str, Act] = {}

    def prepare(name: str) -> None:
        acts[name] = KINDS[name].prepare(world)

    side_by_side(timeout=300, jobs=[partial(prepare, name) for name in kinds])
    node1, node2 = network.net.urls[0], network.net.urls[1]
    wrong: dict[str, str] = {}
    for name in kinds:
        k = KINDS[name]
        with answer_lost(node1, node2, mode) as (urls, lossy):
            try:
                receipt, events, sent = run_once_with_lost_answer(
                    world, k, urls, acts[name], confirmations=CONFIRMATIONS
                )
            except LedgerError as exc:  # e.g. a second signing refused by the pre-flight: reported with the rest
                wrong[name] = f"node 1 took {lossy.hashes}; the write raised {exc!r}"
                continue
        if not (lossy.hashes == [receipt.tx_hash] and [e.tx_hash for e in events] == lossy.hashes and sent == 1):
            wrong[name] = f"node 1 took {lossy.hashes}, answered {receipt.tx_hash}, " \
                          f"{k.event} from {[e.tx_hash for e in events]}, {sent} transactions"
    assert not wrong, "\n".join(f"{name}: {what}" for name, what in wrong.items())
