"""MembershipRegistry replayed from its events; who held which role at every point of the chain.

The replay is the membership domain's one reducer (:class:`ledger.membership.MembershipState`)
with the rules on top (ids in sequence, no change outside the deployment or an executed
council proposal, no proposal executed below the threshold) and the comparison with the
registry's views."""

from __future__ import annotations

from collections import defaultdict

from ledger.abi import checksum
from ledger.abi.records import view_struct
from ledger.audit.collect import Collector
from ledger.audit.replay.base import Checks
from ledger.events import Event
from ledger.membership import MemberRecord, MembershipState, ProposalRecord
from ledger.membership import contract as views
from ledger.membership.model import MEMBER_EVENTS

Member = MemberRecord  # the name the replay's users know
Proposal = ProposalRecord

CHANGE_EVENTS = {
    "MemberAdmitted",
    "MemberRemoved",
    "RoleGranted",
    "RoleRevoked",
    "AccountAdded",
    "AccountRemoved",
    "DataKeySet",
    "NodeAdded",
    "NodeRemoved",
    "ThresholdChanged",
    "ProposalLifetimeChanged",
}
_OF_A_MEMBER = MEMBER_EVENTS | {"NodeAdded", "NodeRemoved"}


class MembershipReplay(MembershipState):
    """The membership reducer's state with the registry's rules checked as events are folded in."""

    contract = "MembershipRegistry"

    def __init__(self, out: Collector, deploy_tx: str | None) -> None:
        super().__init__()
        self.out = out
        self.deploy_tx = (deploy_tx or "").lower()
        self._changes: dict[str, list[Event]] = defaultdict(list)
        self._executed: set[str] = set()

    # ------------------------------------------------------------------ replay

    def on_event(self, e: Event) -> None:
        a, n = e.args, e.name
        if n in CHANGE_EVENTS:
            self._changes[e.tx_hash].append(e)
        if n == "MemberAdmitted":
            mid = int(a["memberId"])
            self.out.expect(
                "state.replay-inconsistent", mid == len(self.members) + 1, f"member id {mid} out of sequence", event=e
            )
        elif n in _OF_A_MEMBER:
            mid = int(a["memberId"])
            self.out.expect("state.replay-inconsistent", mid in self.members, f"{n} for unknown member {mid}", event=e)
        elif n == "ProposalCreated":
            pid = int(a["proposalId"])
            self.out.expect(
                "state.replay-inconsistent",
                pid == len(self.proposals) + 1,
                f"proposal id {pid} out of sequence",
                event=e,
            )
        elif n == "ProposalExecuted":
            self._executed.add(e.tx_hash)
        self.apply(e)
        if n == "ProposalExecuted":
            p = self.proposals.get(int(a["proposalId"]))
            if p:
                approvals = self.council_approvals(p)
                self.out.expect(
                    "membership.proposal-below-threshold",
                    approvals >= self.threshold,
                    f"council proposal {p.id} executed with {approvals} council approvals, threshold {self.threshold}",
                    event=e,
                    proposal=p.id,
                    approvers=p.approvers,
                    threshold=self.threshold,
                )

    def finish(self) -> None:
        for tx, changes in self._changes.items():
            ok = tx == self.deploy_tx or tx in self._executed
            self.out.check("membership.change-without-proposal", len(changes))
            if not ok:
                for e in changes:
                    self.out.add(
                        "membership.change-without-proposal",
                        f"{e.name} outside the deployment and outside any executed council proposal",
                        event=e,
                    )

    # ------------------------------------------------------------------ state

    def checks(self, head_time: int) -> Checks:
        s = self
        c = Checks(self.contract)
        c.expect("memberCount", [], len(s.members), "memberCount")
        c.expect("proposalCount", [], len(s.proposals), "proposalCount")
        c.expect("threshold", [], s.threshold, "threshold")
        c.expect("proposalLifetime", [], s.lifetime, "proposalLifetime")
        c.expect("councilSize", [], s.council_size(), "councilSize")
        for m in s.members.values():
            c.expect("getMember", [m.id], view_struct(views.Member, m), f"member {m.id}")
        for account, mid in s.member_of.items():
            c.expect("memberIdOf", [checksum(account)], mid, f"member of {account}")
        for key in s.node_keys:
            n = s.nodes.get(key, (0, "", "", 0))
            c.expect(
                "getNode",
                [bytes.fromhex(key[2:])],
                {"memberId": n[0], "enodeId": n[1], "ip": n[2], "port": n[3]},
                f"node {key}",
            )
        for p in s.proposals.values():
            view = view_struct(
                views.Proposal, p, approvals=s.council_approvals(p), state=s.proposal_state(p, head_time)
            )
            c.expect("getProposal", [p.id], view, f"proposal {p.id}")
        return c
