"""MembershipRegistry replayed from its events; who held which role at every point of the chain."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ledger.abi import checksum, hex_text
from ledger.audit.collect import Collector
from ledger.audit.replay.base import ZERO32, Checks
from ledger.events import Event
from ledger.membership import Role

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


@dataclass
class Member:
    id: int
    name: str
    kind: int
    roles: int
    admitted_at: int
    active: bool = True
    data_key: str = ZERO32
    accounts: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)


@dataclass
class Proposal:
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


def _swap_pop(items: list[str], value: str) -> None:
    for i, v in enumerate(items):
        if v == value:
            items[i] = items[-1]
            items.pop()
            return


class MembershipReplay:
    contract = "MembershipRegistry"

    def __init__(self, out: Collector, deploy_tx: str | None) -> None:
        self.out = out
        self.deploy_tx = (deploy_tx or "").lower()
        self.members: dict[int, Member] = {}
        self.member_of: dict[str, int] = {}
        self.nodes: dict[str, tuple[int, str, str, int]] = {}
        self.node_keys: set[str] = set()
        self.proposals: dict[int, Proposal] = {}
        self.threshold = 0
        self.lifetime = 0
        self._changes: dict[str, list[Event]] = defaultdict(list)
        self._executed: set[str] = set()

    # ------------------------------------------------------------------ queries used by other replayers

    def member_id(self, account: str) -> int:
        return self.member_of.get(account.lower(), 0)

    def active_account(self, account: str) -> bool:
        mid = self.member_id(account)
        m = self.members.get(mid)
        return m is not None and m.active and account.lower() in (a.lower() for a in m.accounts)

    def has_role(self, account: str, role: Role) -> bool:
        if not self.active_account(account):
            return False
        return bool(self.members[self.member_id(account)].roles & (1 << int(role)))

    def member_has_role(self, member_id: int, role: Role) -> bool:
        m = self.members.get(member_id)
        return m is not None and m.active and bool(m.roles & (1 << int(role)))

    def name(self, member_id: int) -> str:
        m = self.members.get(member_id)
        return m.name if m else f"member {member_id}"

    def _council_approvals(self, p: Proposal) -> int:
        return sum(1 for mid in p.approvers if self.member_has_role(mid, Role.COUNCIL))

    # ------------------------------------------------------------------ replay

    def on_event(self, e: Event) -> None:
        a = e.args
        if e.name in CHANGE_EVENTS:
            self._changes[e.tx_hash].append(e)
        if e.name == "MemberAdmitted":
            mid = int(e.args["memberId"])
            self.out.expect(
                "state.replay-inconsistent", mid == len(self.members) + 1, f"member id {mid} out of sequence", event=e
            )
            self.members[mid] = Member(mid, a["name"], int(a["kind"]), int(a["roles"]), e.block_time)
        elif e.name == "AccountAdded":
            m = self._member(e)
            if m:
                m.accounts.append(a["account"])
                self.member_of[a["account"].lower()] = m.id
        elif e.name == "AccountRemoved":
            m = self._member(e)
            if m:
                _swap_pop(m.accounts, a["account"])
        elif e.name == "MemberRemoved":
            m = self._member(e)
            if m:
                m.active = False
                m.nodes.clear()
        elif e.name in ("RoleGranted", "RoleRevoked"):
            m = self._member(e)
            if m:
                bit = 1 << int(a["role"])
                m.roles = m.roles | bit if e.name == "RoleGranted" else m.roles & ~bit
        elif e.name == "DataKeySet":
            m = self._member(e)
            if m:
                m.data_key = hex_text(a["newKey"])
        elif e.name == "NodeAdded":
            m = self._member(e)
            key = hex_text(a["nodeKey"])
            if m:
                m.nodes.append(key)
            self.nodes[key] = (int(a["memberId"]), a["enodeId"], a["ip"], int(a["port"]))
            self.node_keys.add(key)
        elif e.name == "NodeRemoved":
            m = self._member(e)
            key = hex_text(a["nodeKey"])
            if m:
                _swap_pop(m.nodes, key)
            self.nodes.pop(key, None)
        elif e.name == "ThresholdChanged":
            self.threshold = int(e.args["newThreshold"])
        elif e.name == "ProposalLifetimeChanged":
            self.lifetime = int(e.args["newLifetime"])
        elif e.name == "ProposalCreated":
            pid = int(e.args["proposalId"])
            self.out.expect(
                "state.replay-inconsistent",
                pid == len(self.proposals) + 1,
                f"proposal id {pid} out of sequence",
                event=e,
            )
            self.proposals[pid] = Proposal(
                pid,
                int(a["kind"]),
                hex_text(a["data"]),
                int(a["proposerId"]),
                a["proposer"],
                e.block_time,
                int(a["expiresAt"]),
            )
        elif e.name == "ProposalApproved":
            p = self.proposals.get(int(e.args["proposalId"]))
            if p:
                p.approvers.append(int(e.args["memberId"]))
        elif e.name == "ProposalExecuted":
            p = self.proposals.get(int(e.args["proposalId"]))
            self._executed.add(e.tx_hash)
            if p:
                p.executed = True
                n = self._council_approvals(p)
                self.out.expect(
                    "membership.proposal-below-threshold",
                    n >= self.threshold,
                    f"council proposal {p.id} executed with {n} council approvals, threshold {self.threshold}",
                    event=e,
                    proposal=p.id,
                    approvers=p.approvers,
                    threshold=self.threshold,
                )
        elif e.name == "ProposalCancelled":
            p = self.proposals.get(int(e.args["proposalId"]))
            if p:
                p.cancelled = True

    def _member(self, e: Event) -> Member | None:
        mid = int(e.args["memberId"])
        m = self.members.get(mid)
        self.out.expect("state.replay-inconsistent", m is not None, f"{e.name} for unknown member {mid}", event=e)
        return m

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
        c = Checks(self.contract)
        c.expect("memberCount", [], len(self.members), "memberCount")
        c.expect("proposalCount", [], len(self.proposals), "proposalCount")
        c.expect("threshold", [], self.threshold, "threshold")
        c.expect("proposalLifetime", [], self.lifetime, "proposalLifetime")
        council = sum(1 for m in self.members.values() if m.active and m.roles & 1)
        c.expect("councilSize", [], council, "councilSize")
        for m in self.members.values():
            view: dict[str, Any] = {
                "id": m.id,
                "name": m.name,
                "kind": m.kind,
                "roles": m.roles,
                "active": m.active,
                "dataKey": m.data_key,
                "admittedAt": m.admitted_at,
                "accounts": m.accounts,
                "nodes": m.nodes,
            }
            c.expect("getMember", [m.id], view, f"member {m.id}")
        for account, mid in self.member_of.items():
            c.expect("memberIdOf", [checksum(account)], mid, f"member of {account}")
        for key in self.node_keys:
            n = self.nodes.get(key, (0, "", "", 0))
            c.expect(
                "getNode",
                [bytes.fromhex(key[2:])],
                {"memberId": n[0], "enodeId": n[1], "ip": n[2], "port": n[3]},
                f"node {key}",
            )
        for p in self.proposals.values():
            approvals = self._council_approvals(p)
            if p.executed:
                state = 2
            elif p.cancelled:
                state = 3
            elif head_time >= p.expires_at:
                state = 4
            else:
                state = 1 if approvals >= self.threshold else 0
            c.expect(
                "getProposal",
                [p.id],
                {
                    "id": p.id,
                    "kind": p.kind,
                    "data": p.data,
                    "proposerId": p.proposer_id,
                    "proposer": p.proposer,
                    "createdAt": p.created_at,
                    "expiresAt": p.expires_at,
                    "executed": p.executed,
                    "cancelled": p.cancelled,
                    "approvals": approvals,
                    "approvers": p.approvers,
                    "state": state,
                },
                f"proposal {p.id}",
            )
        return c
