"""Cases (街乡吹哨,部门报到) as one caller sees them: lists, one case with its timeline, the metrics
and the service levels.

Every read is answered from the event index alone: the cases reducer
(:class:`ledger.cases.CaseModel`) kept current with the index by a
:class:`~api.services.index.Folded`, at the time of the last indexed block (the ``now`` at
which overdue is derived), with member names from the registry's indexed events. No read
makes a chain call per row; the one chain read a page may make is the registry's answer of
who the caller is, and only when a description on it is not public (who may read it:
:mod:`ledger.doc_access`). A write's answer (:mod:`api.services.case_writes`) reads the case
from the chain's views instead.

Descriptions: the text is kept off chain (:mod:`ledger.fund.docs`); a public one (kind
``case_public``, marked so by the raising sub-district) is shown to everyone, any other (kind
``case``) to the raiser, the departments of the current dispatch, the district and auditors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TypeVar

from api.deps import OnePer
from api.documents import Parties, readable_texts
from api.params import Paging
from api.schemas.cases import (
    AssignmentPublic,
    CaseDetail,
    CaseList,
    CasePublic,
    MetricsBy,
    MetricsPublic,
    ServiceLevelList,
    ServiceLevelPublic,
    TallyPublic,
    TimelineEntry,
)
from api.schemas.fund import Presented
from api.services.index import Folded, index_for
from api.services.names import Members
from api.state import ServiceState
from ledger.abi import hex_of
from ledger.cases import NAME, Assignment, Case, CaseModel, CaseRecord, CaseState, Tally, overall, tallies
from ledger.doc_access import Party
from ledger.errors import NotFound
from ledger.events import Event, canonical_args
from ledger.index import Indexer

T = TypeVar("T")

#: Where the rule is published, and its formulas (ledger/cases/metrics.py says what is counted).
RULE = "docs/cases.md; ledger/cases/metrics.py"
FORMULAS = {
    "response": "acknowledged on time ÷ dispatched (each department named in each dispatch)",
    "resolution": "closed fixed ÷ closed (cases closed now)",
    "satisfaction": "(satisfied 满意 + basically satisfied 基本满意) ÷ satisfaction records",
    "on_time": "closed on time ÷ (closed + open overdue)",
}

_folded: OnePer[Folded[CaseModel]] = OnePer(lambda: Folded(NAME, CaseModel, CaseModel.apply))


def cases_state(index: Indexer, use: Callable[[CaseModel, int], T]) -> T:
    """``use(model, now)`` over the cases reducer as of the index's last block (``now``: its time)."""
    return _folded(index).read(index, use)


@dataclass(frozen=True)
class Shown:
    """A case as a page shows it: the view, the team's assignments, and (for one case) its history."""

    case: Case
    team: tuple[tuple[int, Assignment], ...]
    raised_at: int = 0
    report_hashes: tuple[bytes, ...] = ()
    events: tuple[Event, ...] = ()


def shown(model: CaseModel, c: CaseRecord, now: int, *, history: bool = False) -> Shown:
    """What a page shows of ``c`` at ``now``, copied out of the fold (read under its lock)."""
    team = tuple((m, model.assignment(c, m)) for m in c.team)
    if not history:
        return Shown(model.case(c, now), team)
    return Shown(model.case(c, now), team, c.raised_at, c.report_hashes, tuple(c.events))


def timeline_entry(e: Event) -> TimelineEntry:
    a = e.args
    member = a.get("memberId", a.get("raiserId"))
    return TimelineEntry(event=e.name, member_id=None if member is None else int(member), block_number=e.block_number,
                         block_time=e.block_time, tx_hash=e.tx_hash, log_index=e.log_index, args=canonical_args(e))


def tally_public(key: int | str, t: Tally, name: str | None = None) -> TallyPublic:
    return TallyPublic(key=str(key), name=name, responses=asdict(t.responses), closings=asdict(t.closings),
                       satisfactions=asdict(t.satisfactions), rates=t.rates())


class CaseService:
    """The cases as the caller with API key account ``account`` sees them."""

    def __init__(self, state: ServiceState, account: str) -> None:
        self.state = state
        self.account = account

    # ---------------------------------------------------------------- presenters

    def descriptions(self, cases: Sequence[Shown]) -> tuple[dict[str, str], set[str]]:
        """The descriptions of ``cases`` the caller may read (by ``0x`` hash), and which are public."""
        public = self.state.docs.texts([s.case.description_hash for s in cases], {"case_public"})
        private: list[tuple[str, bytes, Parties]] = [
            ("case", s.case.description_hash,
             {Party.RAISER: s.case.raiser_id, Party.NAMED: frozenset(m for m, _ in s.team)})
            for s in cases if hex_of(s.case.description_hash) not in public
        ]
        texts = readable_texts(self.state, self.account, private) if private else {}
        return public | texts, set(public)

    def present(self, cases: Sequence[Shown], members: Members) -> list[CasePublic]:
        texts, public = self.descriptions(cases)
        return [self._public(CasePublic, s, members, texts, public) for s in cases]

    @staticmethod
    def _public(schema: type[CasePublic], s: Shown, members: Members, texts: dict[str, str], public: set[str],
                **extra: object) -> CasePublic:
        c, h = s.case, hex_of(s.case.description_hash)
        team = [AssignmentPublic(member_id=m, member_name=members.name(m), lead=a.lead, acknowledged=a.acknowledged,
                                 late=a.late, answered=a.answered) for m, a in s.team]
        return schema.model_validate(Presented(
            c, raiser_name=members.name(c.raiser_id), lead_name=members.name(c.lead_id), team=team,
            description=texts.get(h), description_public=h in public, **extra,
        ), from_attributes=True)

    # ---------------------------------------------------------------- reads (the index alone)

    @property
    def index(self) -> Indexer:
        return index_for(self.state)

    def list(
        self,
        want: CaseState | None,
        category: int | None,
        department: int | None,
        raiser: int | None,
        overdue: bool | None,
        since: int | None,
        until: int | None,
        page: Paging,
    ) -> CaseList:
        """Cases newest first, filtered; ``department``: named in the current dispatch; ``since``,
        ``until``: when raised (block time)."""

        def keep(c: CaseRecord, now: int) -> bool:
            return ((want is None or c.state == want) and (category is None or c.category == category)
                    and (department is None or department in c.team) and (raiser is None or c.raiser_id == raiser)
                    and (overdue is None or c.overdue(now) == overdue)
                    and (since is None or c.raised_at >= since) and (until is None or c.raised_at <= until))

        def pick(model: CaseModel, now: int) -> tuple[list[Shown], int]:
            rows = [c for c in reversed(model.cases.values()) if keep(c, now)]
            return [shown(model, c, now) for c in rows[page.offset : page.offset + page.limit]], len(rows)

        index = self.index
        cases, count = cases_state(index, pick)
        return CaseList(data=self.present(cases, Members.cached(index)), count=count)

    def get(self, case_id: int) -> CaseDetail:
        """One case, with its timeline (every event, with its transaction)."""

        def pick(model: CaseModel, now: int) -> Shown:
            c = model.cases.get(case_id)
            if c is None:
                raise NotFound("case", case_id)
            return shown(model, c, now, history=True)

        index = self.index
        s = cases_state(index, pick)
        texts, public = self.descriptions([s])
        detail = self._public(CaseDetail, s, Members.cached(index), texts, public, raised_at=s.raised_at,
                              report_hashes=list(s.report_hashes), timeline=[timeline_entry(e) for e in s.events])
        assert isinstance(detail, CaseDetail)
        return detail

    def metrics(self, by: MetricsBy) -> MetricsPublic:
        """The figures per ``by``, and in total, at the last indexed block's time."""
        index = self.index

        def compute(
            model: CaseModel, now: int, block: int | None
        ) -> tuple[dict[int | str, Tally], Tally, int, int | None]:
            return tallies(model, now, by), overall(model, now), now, block

        # the block and its time from one reading of the index (a later one could name a newer block)
        groups, total, now, block = _folded(index).read_at(index, compute)
        members = Members.cached(index) if by == "department" else None
        return MetricsPublic(
            by=by, at=now, block_number=block, rule=RULE, formulas=FORMULAS,
            total=tally_public("all", total),
            data=[tally_public(k, t, members.name(int(k)) if members else None) for k, t in groups.items()],
        )

    def service_levels(self) -> ServiceLevelList:
        """The categories' service levels now, and the satisfaction window (from the indexed events)."""

        def pick(model: CaseModel, now: int) -> ServiceLevelList:
            levels = [ServiceLevelPublic.model_validate(asdict(lv)) for _, lv in sorted(model.levels.items())]
            return ServiceLevelList(satisfaction_window=model.satisfaction_window, data=levels)

        return cases_state(self.index, pick)
