"""The fund's caller-scoped operations for :mod:`api.routers.fund`: the domain queries, what
the caller may read, names, and the presenters' records.

Every list is answered from the event index: the rows (filtered, counted and paged in SQL)
and the fund's state folded from the indexed events by :class:`~ledger.fund.model.FundModel`
(once per index version), with member names from the registry's indexed events. No list
makes a chain call at all: deadlines are decided at the time of the indexed block the reducer
is at (the contract decides them at the chain's time). A write's answer reads the written
record from the chain (one batch), as the contract's views show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from api.apikeys import ApiKey
from api.deps import OnePer
from api.documents import Parties, readable_texts
from api.schemas.fund import (
    ContributionList,
    ContributionPublic,
    ContributorTracePublic,
    FundSummary,
    MilestonePublic,
    MotionList,
    MotionPublic,
    PayoutList,
    PayoutPublic,
    PoolPublic,
    Presented,
    ProjectList,
    ProjectPublic,
    RefundList,
    RefundPublic,
    VoteList,
    VotePublic,
)
from api.services.index import Folded, TimeFilter, event_rows, index_for
from api.services.names import Members
from api.state import ServiceState
from ledger.abi import hex_of
from ledger.doc_access import Party
from ledger.errors import NotFound
from ledger.events import Event
from ledger.fund import (
    NAME,
    Contribution,
    Fund,
    FundModel,
    Milestone,
    Motion,
    MotionState,
    Payout,
    Project,
    ProjectState,
)
from ledger.fund.docs import PUBLIC_KINDS
from ledger.fund.model import payout_of, refund_of, vote_of
from ledger.fund.report import ExportRow, Labels, contributor_trace, export_rows
from ledger.index import Indexer
from ledger.lazy import cached_property
from ledger.membership import NAME as REGISTRY_NAME
from ledger.membership import Registry

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")
_folded: OnePer[Folded[FundModel]] = OnePer(lambda: Folded(NAME, FundModel, FundModel.apply))
ZERO32 = b"\x00" * 32


class Named(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class Names(Protocol):
    """Member names by id and the member of an account."""

    def name(self, member_id: int) -> str | None: ...

    def of_account(self, account: str) -> Named | None: ...


#: Members' names as the registry's views answered them, per (registry address, member id): a
#: name is set at admission and no change of the registry alters it, so each is read once per process.
_NAMES: dict[tuple[str, int], str] = {}


class ChainNames:
    """Names read from the registry on the chain (for a write's answer): a member's once per
    process (:data:`_NAMES`), an account's member once per request."""

    def __init__(self, registry: Registry) -> None:
        self.reg = registry
        self.by_account: dict[str, Named | None] = {}

    @cached_property
    def _registry(self) -> str:
        """The registry's address: whose names :data:`_NAMES` holds."""
        return str(self.reg.ledger.contract(REGISTRY_NAME).address).lower()

    def _key(self, member_id: int) -> tuple[str, int]:
        return self._registry, member_id

    def known(self, member_id: int) -> str | None:
        """The member's name if read before, else None (no chain call)."""
        return _NAMES.get(self._key(member_id)) if member_id else ""

    def keep(self, member_id: int, name: str) -> None:
        if len(_NAMES) >= 100_000:
            _NAMES.clear()
        _NAMES[self._key(member_id)] = name

    def name(self, member_id: int) -> str | None:
        name = self.known(member_id)
        if name is None:
            name = self.reg.member(member_id).name
            self.keep(member_id, name)
        return name

    def of_account(self, account: str) -> Named | None:
        key = account.lower()
        if key not in self.by_account:
            self.by_account[key] = self.reg.member_of(account)
        return self.by_account[key]


def _text(texts: Mapping[str, str], h: bytes) -> str | None:
    return None if h == ZERO32 else texts.get(hex_of(h))


def motion_public(m: Motion) -> MotionPublic:
    return MotionPublic.model_validate(m, from_attributes=True)


# The chain's current records, for the checks a write makes before it is signed (404s).


def chain_project_or_404(fund: Fund, project_id: int) -> Project:
    if project_id < 1 or project_id > fund.project_count():
        raise NotFound("project", project_id)
    return fund.project(project_id)


def chain_motion_or_404(fund: Fund, motion_id: int) -> Motion:
    if motion_id > fund.motion_count():
        raise NotFound("motion", motion_id)
    return fund.motion(motion_id)


class FundService:
    """The fund as one caller (``key``) sees it."""

    def __init__(self, state: ServiceState, key: ApiKey) -> None:
        self.state = state
        self.key = key
        self.fund = Fund(state.ledger)

    # ---------------------------------------------------------------- the index and the reducer

    @cached_property
    def index(self) -> Indexer:
        return index_for(self.state)

    def read(self, use: Callable[[FundModel], T]) -> T:
        """``use(model)`` over the fund's reducer, kept current with the index (only the events
        indexed since the last read are folded) and under its lock: never seen half-folded."""
        return _folded(self.index).read(self.index, lambda model, _indexed_at: use(model))

    @cached_property
    def members(self) -> Members:
        return Members.cached(self.index)

    @cached_property
    def now(self) -> int:
        """The time of the indexed block the fund's reducer is at: the contract decides motions and
        refunds at deadlines by the chain's time, and a read shows the fund as of that block. So a
        kept list depends on the index's version alone (no chain call per request); moving the
        chain's time takes a block, and the index holds it once it has that block."""
        return _folded(self.index).read(self.index, lambda _model, indexed_at: indexed_at)

    @cached_property
    def chain_names(self) -> ChainNames:
        return ChainNames(Registry(self.state.ledger))

    # ---------------------------------------------------------------- records (404 when absent)

    def _one(self, kind: str, key: int, records: Callable[[FundModel], Mapping[int, R]],
             view: Callable[[FundModel, R, int], V]) -> V:
        """The record ``key`` of ``records`` as ``view`` shows it now; 404 when there is none."""
        now = self.now

        def use(model: FundModel) -> V:
            record = records(model).get(key)
            if record is None:
                raise NotFound(kind, key)
            return view(model, record, now)

        return self.read(use)

    def project(self, project_id: int) -> Project:
        return self._one("project", project_id, lambda m: m.projects, FundModel.project)

    def milestones(self, project_id: int) -> tuple[Milestone, ...]:
        return self.read(lambda model: model.milestones(model.projects[project_id]))

    def motion(self, motion_id: int) -> Motion:
        return self._one("motion", motion_id, lambda m: m.motions, FundModel.motion)

    def contribution(self, receipt_id: int) -> Contribution:
        return self._one("contribution", receipt_id, lambda m: m.contributions, FundModel.contribution)

    def contribution_event(self, receipt_id: int) -> Event | None:
        def use(model: FundModel) -> Event | None:
            record = model.contributions.get(receipt_id)
            return record.event if record is not None else None

        return self.read(use)

    def title_hash(self, project_id: int) -> bytes:
        def use(model: FundModel) -> bytes:
            record = model.projects.get(project_id)
            return record.title_hash if record is not None else ZERO32

        return self.read(use)

    # ---------------------------------------------------------------- texts the caller may read

    def public_texts(self, hashes: Iterable[bytes]) -> dict[str, str]:
        return self.state.docs.texts(list(hashes), PUBLIC_KINDS)

    def contribution_texts(self, cs: Sequence[Contribution], titles: Mapping[int, bytes]) -> dict[str, str]:
        """The memos of ``cs`` the caller may read, and their projects' titles."""
        return readable_texts(self.state, self.key.account, [
            *(("memo", c.memo_hash, {Party.CONTRIBUTOR: c.member_id}) for c in cs),
            *(("title", h, {}) for h in titles.values()),
        ])

    def payout_texts(self, payouts: Sequence[Payout], titles: Mapping[int, bytes], names: Names) -> dict[str, str]:
        """The invoices of ``payouts`` the caller may read, and their projects' titles."""

        def parties(beneficiary: str) -> Callable[[], dict[Party, int | None]]:
            def of() -> dict[Party, int | None]:
                member = names.of_account(beneficiary)
                return {Party.BENEFICIARY: member.id if member else None}

            return of

        return readable_texts(self.state, self.key.account, [
            *(("invoice", p.invoice_hash, parties(p.beneficiary)) for p in payouts),
            *(("title", h, {}) for h in titles.values()),
        ])

    # ---------------------------------------------------------------- presenters

    def project_public(
        self, p: Project, milestones: Sequence[Milestone], names: Names, texts: Mapping[str, str] | None = None
    ) -> ProjectPublic:
        """A project with its title and milestone descriptions (public texts)."""
        if texts is None:
            texts = self.public_texts([p.title_hash, *(m.description_hash for m in milestones)])
        ben = names.of_account(p.beneficiary)
        return ProjectPublic.model_validate(Presented(
            p,
            title=_text(texts, p.title_hash),
            proposer_name=names.name(p.proposer_id) or "",
            beneficiary_member_id=ben.id if ben else None,
            beneficiary_name=ben.name if ben else None,
            milestones=[
                MilestonePublic.model_validate(Presented(m, description=_text(texts, m.description_hash)),
                                               from_attributes=True)
                for m in milestones
            ],
        ), from_attributes=True)

    def contribution_public(
        self, c: Contribution, names: Names, texts: Mapping[str, str], title_hash: bytes, row: Event | None
    ) -> ContributionPublic:
        """A contribution; ``texts`` holds its memo only for a caller allowed to read it."""
        return ContributionPublic.model_validate(Presented(
            c,
            member_name=names.name(c.member_id) or "",
            project=_text(texts, title_hash) if c.project_id else None,
            memo=_text(texts, c.memo_hash),
            tx_hash=row.tx_hash if row is not None else None,
            block_number=row.block_number if row is not None else None,
        ), from_attributes=True)

    def payout_public(self, p: Payout, names: Names, texts: Mapping[str, str], title_hash: bytes) -> PayoutPublic:
        """A payout; ``texts`` holds its invoice only for a caller allowed to read it."""
        ben = names.of_account(p.beneficiary)
        return PayoutPublic.model_validate(Presented(
            p,
            project=_text(texts, title_hash),
            beneficiary_name=ben.name if ben else None,
            invoice=_text(texts, p.invoice_hash),
        ), from_attributes=True)

    def summary(self) -> FundSummary:
        """The totals and the pool from the chain's views; projects by state from the reducer."""
        fund = self.fund
        t = fund.totals()
        pool = fund.pool()
        by_state: dict[str, int] = {s.name.lower(): 0 for s in ProjectState}
        now = self.now
        for state in self.read(lambda model: [model.project_state(p, now) for p in model.projects.values()]):
            by_state[state.name.lower()] += 1
        return FundSummary(
            address=fund.address,
            token=fund.token.address,
            currency=fund.token.symbol,
            decimals=fund.token.decimals,
            quorum=fund.quorum(),
            time_lock=fund.time_lock(),
            total_contributed=t.contributed,
            total_paid_out=t.paid_out,
            total_refunded=t.refunded,
            balance=t.balance,
            expected_balance=t.contributed - t.paid_out - t.refunded,
            invariant_holds=t.invariant_holds,
            pool=PoolPublic(total=pool.total, spent=pool.spent, committed=pool.committed, free=pool.free),
            contributions=t.contributions,
            projects=t.projects,
            motions=t.motions,
            payouts=t.payouts,
            projects_by_state=by_state,
        )

    # ---------------------------------------------------------------- lists (the index alone)

    def contributions(self, args: Mapping[str, Any], offset: int, limit: int,
                      time_ok: TimeFilter | None) -> ContributionList:
        rows, count = event_rows(self.state, NAME, "ContributionReceived", args, offset, limit, time_ok)
        cs = [self.contribution(int(r.args["receiptId"])) for r in rows]
        titles = {c.project_id: self.title_hash(c.project_id) for c in cs if c.project_id}
        texts = self.contribution_texts(cs, titles)
        return ContributionList(
            data=[self.contribution_public(c, self.members, texts, titles.get(c.project_id, ZERO32), r)
                  for c, r in zip(cs, rows, strict=True)],
            count=count,
        )

    def get_contribution(self, receipt_id: int) -> ContributionPublic:
        c = self.contribution(receipt_id)
        titles = {c.project_id: self.title_hash(c.project_id)} if c.project_id else {}
        texts = self.contribution_texts([c], titles)
        return self.contribution_public(c, self.members, texts, titles.get(c.project_id, ZERO32),
                                        self.contribution_event(receipt_id))

    def projects(self, state: str | None, proposer_id: int | None, offset: int, limit: int) -> ProjectList:
        now = self.now
        projects = self.read(lambda model: [model.project(p, now) for p in reversed(model.projects.values())])
        if state is not None:
            projects = [p for p in projects if p.state == ProjectState[state.upper()]]
        if proposer_id is not None:
            projects = [p for p in projects if p.proposer_id == proposer_id]
        page = projects[offset : offset + limit]
        milestones = {p.id: self.milestones(p.id) for p in page}
        texts = self.public_texts([h for p in page for h in (p.title_hash, *(m.description_hash
                                                                              for m in milestones[p.id]))])
        return ProjectList(
            data=[self.project_public(p, milestones[p.id], self.members, texts) for p in page],
            count=len(projects),
        )

    def get_project(self, project_id: int) -> ProjectPublic:
        return self.project_public(self.project(project_id), self.milestones(project_id), self.members)

    def payouts(self, args: Mapping[str, Any], offset: int, limit: int, time_ok: TimeFilter | None) -> PayoutList:
        rows, count = event_rows(self.state, NAME, "PayoutMade", args, offset, limit, time_ok)
        payouts = [payout_of(r) for r in rows]
        titles = {p.project_id: self.title_hash(p.project_id) for p in payouts}
        texts = self.payout_texts(payouts, titles, self.members)
        return PayoutList(
            data=[self.payout_public(p, self.members, texts, titles[p.project_id]) for p in payouts], count=count
        )

    def motions(self, args: Mapping[str, Any], state: str | None, offset: int, limit: int) -> MotionList:
        keep = None
        if state is not None:
            want, now = MotionState[state.upper()], self.now
            wanted = self.read(lambda model: {i for i, m in model.motions.items() if model.derive(m, now)[0] == want})

            def keep(r: Event) -> bool:
                return int(r.args["motionId"]) in wanted

        rows, count = event_rows(self.state, NAME, "MotionProposed", args, offset, limit, keep)
        return MotionList(data=[motion_public(self.motion(int(r.args["motionId"]))) for r in rows], count=count)

    def votes(self, args: Mapping[str, Any], offset: int, limit: int) -> VoteList:
        rows, count = event_rows(self.state, NAME, "VoteCast", args, offset, limit)
        return VoteList(
            data=[VotePublic.model_validate(Presented(v, member_name=self.members.name(v.member_id) or ""),
                                            from_attributes=True) for v in map(vote_of, rows)],
            count=count,
        )

    def refunds(self, args: Mapping[str, Any], offset: int, limit: int, time_ok: TimeFilter | None) -> RefundList:
        rows, count = event_rows(self.state, NAME, "RefundClaimed", args, offset, limit, time_ok)
        return RefundList(
            data=[RefundPublic.model_validate(Presented(r, member_name=self.members.name(r.member_id) or ""),
                                              from_attributes=True) for r in map(refund_of, rows)],
            count=count,
        )


    # ---------------------------------------------------------------- a write's answer (the chain's views)

    def chain_project(self, project_id: int) -> ProjectPublic:
        """A project as the chain's views show it now."""
        p = self.fund.project(project_id)
        return self.project_public(p, self.fund.milestones(p.id, p.milestone_count), self.chain_names)

    def chain_contribution(self, c: Contribution, row: Event | None = None, memo: str | None = None,
                           title: bytes | None = None) -> ContributionPublic:
        """A contribution as the chain's views show it now; ``memo``: the writer's own text,
        ``title``: its project's title hash when already read."""
        if title is None:
            title = self.fund.project(c.project_id).title_hash if c.project_id else ZERO32
        if memo is not None:
            texts = {hex_of(c.memo_hash): memo} | (self.public_texts([title]) if c.project_id else {})
        else:
            texts = self.contribution_texts([c], {c.project_id: title} if c.project_id else {})
        return self.contribution_public(c, self.chain_names, texts, title, row)

    # ---------------------------------------------------------------- the trace and the export

    def labels(self, texts: Mapping[str, str]) -> Labels:
        members = self.members

        def member_of(account: str) -> tuple[int, str] | None:
            m = members.of_account(account)
            return (m.id, m.name) if m else None

        return Labels(lambda mid: members.name(mid) or "", member_of, lambda h: texts.get(h.lower()))

    def contributor_trace(self, member_id: int) -> ContributorTracePublic:
        """Where one member's contributions went, with the project titles the public may read."""
        now, token = self.now, self.fund.token

        def use(model: FundModel) -> ContributorTracePublic:
            texts = self.public_texts([p.title_hash for p in model.projects.values()])
            t = contributor_trace(model, now, member_id, self.labels(texts), token.symbol, token.decimals)
            return ContributorTracePublic.model_validate(t.to_dict())

        return self.read(use)

    def export(self, type_: str | None, since: int | None, until: int | None) -> list[ExportRow]:
        """Every contribution, payout and refund (or those of ``type_``), with the texts the caller may read."""
        return self.read(lambda model: self._export(model, type_, since, until))

    def _export(self, model: FundModel, type_: str | None, since: int | None, until: int | None) -> list[ExportRow]:
        kinds = [type_] if type_ else ["contribution", "payout", "refund"]
        members = self.members

        def beneficiary(account: str) -> Callable[[], dict[Party, int | None]]:
            return lambda: {Party.BENEFICIARY: members.id_of(account)}

        wanted: list[tuple[str, bytes, Parties]] = [
            *(("memo", c.memo_hash, {Party.CONTRIBUTOR: c.member_id}) for c in model.contributions.values()),
            *(("invoice", p.invoice_hash, beneficiary(p.beneficiary)) for p in model.payouts),
            *(("title", p.title_hash, {}) for p in model.projects.values()),
        ]
        texts = readable_texts(self.state, self.key.account, wanted)
        token = self.fund.token
        return export_rows(model, self.labels(texts), token.symbol, token.decimals, kinds=kinds, since=since,
                           until=until)
