"""What a department's and data governance's console pages show: read from the same services as
the API's lists (``api/services/data.py``), narrowed to what concerns the signed-in member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.deps import Caller
from api.documents import read as read_document
from api.schemas.data import AccessLogList, AccessRequestPublic, DatasetPublic, GrantPublic
from api.services import data as svc
from api.services.index import caller_member
from api.services.names import Members
from api.state import ServiceState
from ledger.data import GrantState, RequestState
from ledger.data.purposes import PURPOSES
from ledger.errors import LedgerError

MOST = 500  # rows per list on a page
OPEN = (RequestState.PENDING, RequestState.PARTIALLY_APPROVED)


@dataclass
class Row:
    """A request or grant with what the page says of it (names, purpose in words)."""

    item: AccessRequestPublic | GrantPublic
    dataset: str
    party: str
    purpose: str | None = None


def _requests(state: ServiceState, filters: dict[str, int], want: RequestState | None) -> list[AccessRequestPublic]:
    return svc.list_by_state(state, svc.REQUESTS, filters, want, None, None, 0, MOST).data


def _grants(state: ServiceState, filters: dict[str, int], want: GrantState | None = None) -> list[GrantPublic]:
    return svc.list_by_state(state, svc.GRANTS, filters, want, None, None, 0, MOST).data


def purpose_name(code: int | None, lang: str) -> str:
    p = PURPOSES.get(code) if code is not None else None
    return "—" if p is None else (p.en if lang == "en" else p.zh)


def purpose_text(state: ServiceState, caller: Caller, req: AccessRequestPublic) -> str | None:
    """The request's purpose statement when this caller may read it (the API's rule), else None."""
    try:
        return read_document(state, caller, "0x" + req.purpose_hash.removeprefix("0x")).text
    except LedgerError:
        return None


class Names:
    def __init__(self, state: ServiceState, datasets: list[DatasetPublic]) -> None:
        self.members = Members.cached(state.index) if state.index is not None else None
        self.datasets = {d.id: d.title for d in datasets}

    def member(self, member_id: int) -> str:
        name = self.members.name(member_id) if self.members is not None else None
        return name or f"#{member_id}"

    def dataset(self, dataset_id: int) -> str:
        return self.datasets.get(dataset_id, f"#{dataset_id}")


def department(state: ServiceState, caller: Caller, lang: str) -> dict[str, Any]:
    """A department's page: its datasets, the requests waiting for it, the grants it gave, its own
    requests, the grants it holds, and the access log of its datasets."""
    me = caller_member(state, caller)
    gw = svc.gateway_or_none(state)
    every = svc.list_datasets(state, gw, None, None, None, None, 0, MOST).data
    names = Names(state, every)
    mine = [d for d in every if d.owner_id == me.id]
    own = {d.id for d in mine}

    def row(x: AccessRequestPublic | GrantPublic, party: int) -> Row:
        purpose = purpose_text(state, caller, x) if isinstance(x, AccessRequestPublic) else None
        return Row(x, names.dataset(x.dataset_id), names.member(party), purpose)

    waiting = [row(r, r.requester_id) for want in OPEN for r in _requests(state, {}, want) if r.dataset_id in own]
    given = [row(g, g.grantee_id) for g in _grants(state, {}) if g.dataset_id in own]
    asked = [row(r, me.id) for r in _requests(state, {"requesterId": me.id}, None)]
    held = [row(g, me.id) for g in _grants(state, {"granteeId": me.id})]
    log = [e for e in AccessLogList.model_validate_json(
        svc.access_log(state, "all", None, None, None, None, None, 0, MOST)).data if e.dataset_id in own]
    return {
        "me": me, "datasets": mine, "others": [d for d in every if d.owner_id != me.id],
        "waiting": waiting, "given": given, "asked": asked, "held": held,
        "log": [(e, names.dataset(e.dataset_id), names.member(e.member_id)) for e in log],
        "purposes": [(p.code, p.en if lang == "en" else p.zh) for p in PURPOSES.values()],
        "purpose_name": lambda code: purpose_name(code, lang),
    }


def governance(state: ServiceState, caller: Caller, lang: str) -> dict[str, Any]:
    """Data governance's page: requests waiting for its second approval, grants to freeze or lift."""
    gw = svc.gateway_or_none(state)
    names = Names(state, svc.list_datasets(state, gw, None, None, None, None, 0, MOST).data)
    waiting = [
        Row(r, names.dataset(r.dataset_id), names.member(r.requester_id), purpose_text(state, caller, r))
        for want in OPEN for r in _requests(state, {}, want)
        if r.needs_governance and not r.governance_approved_at
    ]
    grants = [Row(g, names.dataset(g.dataset_id), names.member(g.grantee_id)) for g in _grants(state, {})
              if g.state in ("active", "frozen")]
    return {"waiting": waiting, "grants": grants, "purpose_name": lambda code: purpose_name(code, lang)}
