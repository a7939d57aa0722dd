"""Organisations by id and by account, from the registry's indexed events (no chain call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.index import Indexer

REGISTRY = "MembershipRegistry"
MEMBER_KINDS = ("department", "enterprise", "resident_group", "auditor")  # IMembershipRegistry.MemberKind
_PAGE = 5000


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    kind: str  # MEMBER_KINDS


@dataclass
class Members:
    """Organisations from the registry's events: id → name/kind, account → id."""

    by_id: dict[int, Member] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, index: Indexer | None) -> Members:
        m = cls()
        if index is None or REGISTRY not in index.contracts:
            return m
        for e in index.iter_events(_PAGE, REGISTRY):
            a = e.args
            if e.name == "MemberAdmitted":
                kind = int(a["kind"])
                mid = int(a["memberId"])
                label = MEMBER_KINDS[kind] if kind < len(MEMBER_KINDS) else str(kind)
                m.by_id[mid] = Member(mid, str(a["name"]), label)
                m.by_account[str(a["account"]).lower()] = mid
            elif e.name == "AccountAdded":
                m.by_account[str(a["account"]).lower()] = int(a["memberId"])
            elif e.name == "AccountRemoved":
                m.by_account.pop(str(a["account"]).lower(), None)
        return m

    def name(self, member_id: int) -> str | None:
        member = self.by_id.get(int(member_id))
        return member.name if member else None

    def of_account(self, account: str) -> Member | None:
        mid = self.by_account.get(str(account).lower())
        return self.by_id.get(mid) if mid is not None else None

    @classmethod
    def cached(cls, index: Indexer) -> Members:
        """:meth:`load`, once per index version (the index's answer cache)."""
        from api.services.index import cache_of

        members: Members = cache_of(index).get(index.version(), ("members",), lambda: cls.load(index))
        return members

    def id_of(self, account: str) -> int | None:
        member = self.of_account(account)
        return member.id if member else None
