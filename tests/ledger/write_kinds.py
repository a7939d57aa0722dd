"""Every write kind of the library's wrappers, ready to run once through a given ledger (holds no tests).

Each :class:`WriteKind` prepares its preconditions through the world's own ledger
and returns the one write to test, to be run through another ledger (one whose
first node loses the answer, say). Shared by the Ganache and the geth network
tests of "an intent is signed once".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.client import Ledger, TxReceipt
from ledger.data import Classification, DataSharing, Terms
from ledger.events import Event
from ledger.fund import Credit, Fund
from ledger.keys import Signer
from ledger.manifest import Manifest
from ledger.membership import ChangeKind, Registry

Act = Callable[[Ledger], TxReceipt]


@dataclass
class World:
    """A deployment to write to: its manifest, its plain ledger and the signers by label.

    Labels: ``c1``, ``c2`` (council), ``dept_a``, ``dept_b`` (departments), ``treasurer``,
    ``committee_a``, ``committee_b`` (fund committee; quorum 2), ``resident`` (contributor).
    ``pass_time_lock`` lets the fund's time lock run out (moves chain time on Ganache).
    """

    manifest: Manifest
    ledger: Ledger
    signers: dict[str, Signer]
    pass_time_lock: Callable[[], None]

    def ledger_at(self, urls: Sequence[str], **kw: Any) -> Ledger:
        return ledger_over(self.manifest, urls, **kw)

    def nonce(self, label: str) -> int:
        return int(self.ledger.rpc("eth_getTransactionCount", [self.signers[label].address, "latest"]), 16)

    def events(self, contract: str, name: str, from_block: int) -> list[Event]:
        """Every ``name`` event of ``contract`` from ``from_block`` on, read from the chain."""
        logs = self.ledger.rpc("eth_getLogs", [{
            "address": self.manifest.address(contract), "fromBlock": hex(from_block), "toBlock": "latest",
        }])
        return [e for e in self.ledger.decode_logs(logs) if e.name == name]


def ledger_over(manifest: Manifest, urls: Sequence[str], **kw: Any) -> Ledger:
    """A ledger of ``manifest``'s deployment over ``urls`` (in fail-over order)."""
    led = Ledger(list(urls), manifest, **kw)
    for name, dep in manifest.contracts.items():
        led.register(name, dep.address)
    return led


@dataclass(frozen=True)
class WriteKind:
    name: str
    signer: str  # the label whose one transaction the write is
    contract: str
    event: str  # emitted once per write
    prepare: Callable[[World], Act]


def _h() -> bytes:
    return secrets.token_bytes(32)


def _proposal(w: World) -> int:
    pid, _ = Registry(w.ledger).propose(w.signers["c1"], ChangeKind.SET_THRESHOLD, 2)
    return pid


def _dataset(w: World) -> int:
    ds, _ = DataSharing(w.ledger).register(
        w.signers["dept_a"], f"exactly-once {secrets.token_hex(4)}", Classification.INTERNAL, _h(), _h(), _h(), 2
    )
    return ds


def _request(w: World) -> int:
    rid, _ = DataSharing(w.ledger).request_access(
        w.signers["dept_b"], _dataset(w), Terms(1, _h(), 0b11, 86_400)
    )
    return rid


def _grant(w: World) -> int:
    r = DataSharing(w.ledger).approve_as_owner(w.signers["dept_a"], _request(w))
    return int(r.event("GrantCreated").args["grantId"])


def _funded(w: World, label: str, amount: int) -> None:
    """``label`` holds ``amount`` more credits and the fund may take them (an allowance that
    concurrent preparations cannot reset under each other)."""
    Credit(w.ledger).mint(w.signers["treasurer"], w.signers[label].address, amount, _h())
    fund = Fund(w.ledger)
    if fund.token.allowance(w.signers[label].address, fund.address) < 2**128:
        fund.token.approve(w.signers[label], fund.address, 2**255)


def _project(w: World, budget: int) -> int:
    pid, _ = Fund(w.ledger).propose_project(
        w.signers["dept_a"], _h(), w.signers["dept_b"].address, [(budget, _h())]
    )
    return pid


# ---------------------------------------------------------------- the writes (setup, then the one write)


def _propose(w: World) -> Act:
    return lambda led: Registry(led).propose(w.signers["c1"], ChangeKind.SET_THRESHOLD, 2)[1]


def _approve_proposal(w: World) -> Act:
    pid = _proposal(w)
    return lambda led: Registry(led).approve(w.signers["c2"], pid)


def _register(w: World) -> Act:
    title = f"exactly-once {secrets.token_hex(4)}"
    return lambda led: DataSharing(led).register(
        w.signers["dept_a"], title, Classification.INTERNAL, _h(), _h(), _h(), 2
    )[1]


def _request_access(w: World) -> Act:
    ds = _dataset(w)
    return lambda led: DataSharing(led).request_access(
        w.signers["dept_b"], ds, Terms(1, _h(), 0b01, 86_400)
    )[1]


def _approve_request(w: World) -> Act:
    rid = _request(w)
    return lambda led: DataSharing(led).approve_as_owner(w.signers["dept_a"], rid)


def _record_access(w: World) -> Act:
    gid = _grant(w)
    return lambda led: DataSharing(led).record_access(w.signers["dept_a"], gid, _h(), 3, 0b01)[1]


def _contribute(w: World) -> Act:
    _funded(w, "resident", 500)
    return lambda led: Fund(led).contribute(w.signers["resident"], 500, approve=False)[1]


def _propose_project(w: World) -> Act:
    return lambda led: Fund(led).propose_project(
        w.signers["dept_a"], _h(), w.signers["dept_b"].address, [(700, _h())]
    )[1]


def _vote(w: World) -> Act:
    motion = Fund(w.ledger).project(_project(w, 1_000)).approval_motion_id
    return lambda led: Fund(led).vote(w.signers["committee_a"], motion, True)


def _pay(w: World) -> Act:
    fund = Fund(w.ledger)
    pid = _project(w, 1_000)
    _funded(w, "resident", 1_000)
    fund.contribute(w.signers["resident"], 1_000, pid, approve=False)
    motion = fund.project(pid).approval_motion_id
    fund.vote(w.signers["committee_a"], motion, True)
    fund.vote(w.signers["committee_b"], motion, True)
    w.pass_time_lock()
    return lambda led: Fund(led).pay_milestone(w.signers["treasurer"], pid, 0, 1_000, _h())[1]


def _refund(w: World) -> Act:
    fund = Fund(w.ledger)
    pid = _project(w, 1_000)
    _funded(w, "resident", 400)
    receipt_id, _ = fund.contribute(w.signers["resident"], 400, pid, approve=False)
    motion, _ = fund.propose_cancellation(w.signers["committee_a"], pid)
    fund.vote(w.signers["committee_a"], motion, True)
    fund.vote(w.signers["committee_b"], motion, True)
    return lambda led: Fund(led).claim_refund(w.signers["resident"], receipt_id)[1]


def _mint(w: World) -> Act:
    return lambda led: Credit(led).mint(w.signers["treasurer"], w.signers["resident"].address, 100, _h())


def _approve_spender(w: World) -> Act:
    spender = w.signers["dept_b"].address  # not the fund: the other kinds' allowance stays as it is
    return lambda led: Credit(led).approve(w.signers["resident"], spender, 123)


KINDS: dict[str, WriteKind] = {k.name: k for k in [
    WriteKind("membership.propose", "c1", "MembershipRegistry", "ProposalCreated", _propose),
    WriteKind("membership.approve", "c2", "MembershipRegistry", "ProposalApproved", _approve_proposal),
    WriteKind("data.register", "dept_a", "DataSharing", "DatasetRegistered", _register),
    WriteKind("data.request", "dept_b", "DataSharing", "AccessRequested", _request_access),
    WriteKind("data.approve", "dept_a", "DataSharing", "RequestApprovedByOwner", _approve_request),
    WriteKind("data.recordAccess", "dept_a", "DataSharing", "AccessRecorded", _record_access),
    WriteKind("fund.contribute", "resident", "CoGovFund", "ContributionReceived", _contribute),
    WriteKind("fund.propose", "dept_a", "CoGovFund", "ProjectProposed", _propose_project),
    WriteKind("fund.vote", "committee_a", "CoGovFund", "VoteCast", _vote),
    WriteKind("fund.payMilestone", "treasurer", "CoGovFund", "PayoutMade", _pay),
    WriteKind("fund.refund", "resident", "CoGovFund", "RefundClaimed", _refund),
    WriteKind("credit.mint", "treasurer", "CommunityCredit", "CreditMinted", _mint),
    WriteKind("credit.approve", "resident", "CommunityCredit", "Approval", _approve_spender),
]}


def run_once_with_lost_answer(
    w: World, kind: WriteKind, urls: Sequence[str], act: Act, **ledger_kw: Any
) -> tuple[TxReceipt, list[Event], int]:
    """Run ``act`` through a ledger over ``urls``: (its receipt, the events it was to emit once
    that the chain holds since, the signer's transactions mined since)."""
    nonce = w.nonce(kind.signer)
    start = w.ledger.block_number() + 1
    receipt = act(w.ledger_at(urls, **ledger_kw))
    return receipt, w.events(kind.contract, kind.event, start), w.nonce(kind.signer) - nonce
