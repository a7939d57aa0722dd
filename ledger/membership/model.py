"""The membership registry as a pure fold of its events: members (kind, roles, accounts,
data key, nodes), the council's proposals with their approvals, the threshold and the
proposals' lifetime, and each proposal's state at any time.

:class:`MembershipState` is the reducer (:meth:`MembershipState.apply`, one event at a time in
chain order; ``MembershipState(events)`` over a sequence). A proposal's state follows the contract's
``getProposal``: Executed, else Cancelled, else Expired once its deadline passed, else
Approved once its approvals by current council members reach the threshold, else Pending.
The API's lists and the auditor (which adds its rule checks and compares with the registry's
views) read through it. Events naming an unknown member are skipped; the auditor reports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.abi import hex_text
from ledger.abi.records import record_from
from ledger.events import Event
from ledger.membership.contract import Member, Proposal
from ledger.membership.roles import ChangeKind, MemberKind, ProposalState, Role, roles_from_mask

ZERO32 = "0x" + "00" * 32


@dataclass
class MemberRecord:
    """A member as its events built it (``roles`` a bit mask, the data key and nodes as hex text)."""

    id: int
    name: str
    kind: int
    roles: int
    admitted_at: int
    active: bool = True
    data_key: str = ZERO32
    accounts: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)

    def has(self, role: Role) -> bool:
        return self.active and bool(self.roles & (1 << int(role)))


@dataclass
class ProposalRecord:
    id: int
    kind: int
    data: str
    proposer_id: int
    proposer: str
    created_at: int
    expires_at: int
    executed: bool = False
    cancelled: bool = False
    approvers: list[int] = field(default_factory=list)
    event: Event | None = None

    @property
    def change(self) -> ChangeKind:
        return ChangeKind(self.kind)


def _swap_pop(items: list[str], value: str) -> None:
    """Remove ``value`` as the contract does: the last item takes its place."""
    for i, v in enumerate(items):
        if v == value:
            items[i] = items[-1]
            items.pop()
            return


class MembershipState:
    """The registry's state folded from its events."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        """The state after ``events`` (chain order; none: the empty state)."""
        self.members: dict[int, MemberRecord] = {}
        self.member_of: dict[str, int] = {}  # lower-case account -> member
        self.nodes: dict[str, tuple[int, str, str, int]] = {}  # node key -> (member, enode id, ip, port)
        self.node_keys: set[str] = set()  # every node key ever registered
        self.proposals: dict[int, ProposalRecord] = {}
        self.threshold = 0
        self.lifetime = 0
        for e in events:
            self.apply(e)

    # ------------------------------------------------------------------ queries

    def member_id(self, account: str) -> int:
        return self.member_of.get(account.lower(), 0)

    def active_account(self, account: str) -> bool:
        m = self.members.get(self.member_id(account))
        return m is not None and m.active and account.lower() in (a.lower() for a in m.accounts)

    def has_role(self, account: str, role: Role) -> bool:
        return self.active_account(account) and self.members[self.member_id(account)].has(role)

    def member_has_role(self, member_id: int, role: Role) -> bool:
        m = self.members.get(member_id)
        return m is not None and m.has(role)

    def name(self, member_id: int) -> str:
        m = self.members.get(member_id)
        return m.name if m else f"member {member_id}"

    def council_size(self) -> int:
        return sum(1 for m in self.members.values() if m.has(Role.COUNCIL))

    def council_approvals(self, p: ProposalRecord) -> int:
        """Approvals by members that are on the council now (as ``getProposal`` counts them)."""
        return sum(1 for mid in p.approvers if self.member_has_role(mid, Role.COUNCIL))

    def proposal_state(self, p: ProposalRecord, now: int) -> ProposalState:
        if p.executed:
            return ProposalState.EXECUTED
        if p.cancelled:
            return ProposalState.CANCELLED
        if now >= p.expires_at:
            return ProposalState.EXPIRED
        return ProposalState.APPROVED if self.council_approvals(p) >= self.threshold else ProposalState.PENDING

    # ------------------------------------------------------------------ views (as the registry answers them)

    def member_view(self, m: MemberRecord) -> Member:
        """``getMember``'s answer."""
        return record_from(
            Member, m, kind=MemberKind(m.kind), roles=tuple(roles_from_mask(m.roles)),
            data_key=None if m.data_key == ZERO32 else m.data_key, accounts=tuple(m.accounts), nodes=tuple(m.nodes),
        )

    def proposal_view(self, p: ProposalRecord, now: int) -> Proposal:
        """``getProposal``'s answer at time ``now``."""
        return record_from(
            Proposal, p, kind=p.change, data=bytes.fromhex(p.data[2:]), approvals=self.council_approvals(p),
            approvers=tuple(p.approvers), state=self.proposal_state(p, now),
        )

    # ------------------------------------------------------------------ the fold

    def apply(self, e: Event) -> None:
        """Fold one MembershipRegistry event into the state."""
        a, n = e.args, e.name
        if n == "MemberAdmitted":
            mid = int(a["memberId"])
            self.members[mid] = MemberRecord(mid, str(a["name"]), int(a["kind"]), int(a["roles"]), e.block_time)
        elif n == "ThresholdChanged":
            self.threshold = int(a["newThreshold"])
        elif n == "ProposalLifetimeChanged":
            self.lifetime = int(a["newLifetime"])
        elif n == "ProposalCreated":
            pid = int(a["proposalId"])
            self.proposals[pid] = ProposalRecord(
                pid,
                int(a["kind"]),
                hex_text(a["data"]),
                int(a["proposerId"]),
                str(a["proposer"]),
                e.block_time,
                int(a["expiresAt"]),
                event=e,
            )
        elif n in ("ProposalApproved", "ProposalExecuted", "ProposalCancelled"):
            p = self.proposals.get(int(a["proposalId"]))
            if p is not None:
                if n == "ProposalApproved":
                    p.approvers.append(int(a["memberId"]))
                elif n == "ProposalExecuted":
                    p.executed = True
                else:
                    p.cancelled = True
        elif n == "NodeAdded" or n == "NodeRemoved":
            self._node(e)
        elif n in MEMBER_EVENTS:
            m = self.members.get(int(a["memberId"]))
            if m is not None:
                self._member_change(m, e)

    def _member_change(self, m: MemberRecord, e: Event) -> None:
        a, n = e.args, e.name
        if n == "AccountAdded":
            m.accounts.append(str(a["account"]))
            self.member_of[str(a["account"]).lower()] = m.id
        elif n == "AccountRemoved":
            _swap_pop(m.accounts, str(a["account"]))
        elif n == "MemberRemoved":
            m.active = False
            m.nodes.clear()
        elif n == "RoleGranted":
            m.roles |= 1 << int(a["role"])
        elif n == "RoleRevoked":
            m.roles &= ~(1 << int(a["role"]))
        elif n == "DataKeySet":
            m.data_key = hex_text(a["newKey"])

    def _node(self, e: Event) -> None:
        a = e.args
        m = self.members.get(int(a["memberId"]))
        key = hex_text(a["nodeKey"])
        if e.name == "NodeAdded":
            if m is not None:
                m.nodes.append(key)
            self.nodes[key] = (int(a["memberId"]), str(a["enodeId"]), str(a["ip"]), int(a["port"]))
            self.node_keys.add(key)
        else:
            if m is not None:
                _swap_pop(m.nodes, key)
            self.nodes.pop(key, None)


#: the events that change one member (its id in ``memberId``)
MEMBER_EVENTS = {"AccountAdded", "AccountRemoved", "MemberRemoved", "RoleGranted", "RoleRevoked", "DataKeySet"}
