"""CaseDesk (街乡吹哨,部门报到) replayed from its events, with the case rules.

The replay is the cases domain's one reducer (:class:`ledger.cases.CaseModel`, :attr:`CaseReplay.model`)
with the rules checked on each event against the state before it is folded in, and against the
membership registry as it stood at that event (:class:`MembershipReplay`, replayed in the same
chain order):

- ``cases.actor-not-named``: an acknowledgement, an answer or a send-back comes from an active
  account of a department named in the case's current dispatch (its ``lead`` flag its position);
- ``cases.deadline-mismatch``: a dispatch's deadlines are its block time plus the category's
  service level in force at that block; a reopening restarts the resolve deadline with the
  duration fixed at dispatch; a ``late`` flag says whether the act came after its deadline;
- ``cases.transition-skipped``: each event is legal from the state before it (the contract's
  lifecycle, ``ICaseDesk``), the events a transition emits together come together;
- ``cases.dispatch-unauthorised``: a case is raised by a SubDistrict member, re-dispatched by its
  raiser (sent back) or by the District (escalated), and names Department members (or the
  district itself as the lead), each once, at most ``MAX_ASSISTING`` assisting;
- ``cases.evaluation-not-raiser``: only the case's raiser evaluates (the contract lets no one
  else: the district takes an escalated case by re-dispatching it, never by evaluating);
- ``cases.escalation-invalid``: an escalation is the raiser's, or of a case overdue at that
  block, or follows the send-back that caused it;
- ``cases.satisfaction-invalid``: satisfaction comes from a Channel member (the case's channel
  when it names one), within the window after the closing, once per closing, and only the first
  不满意 reopens;
- ``cases.service-level-unapproved``: a service level changes at deployment or by a council
  proposal that reached the registry's threshold of council approvals.

:meth:`CaseReplay.checks` compares the fold with the contract's views at the head (``getCase``,
``caseState``, ``isOverdue``, ``team``, ``assignment``, the service levels, the counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.abi.records import view_struct
from ledger.audit.collect import Collector
from ledger.audit.replay.base import Checks
from ledger.audit.replay.membership import MembershipReplay
from ledger.cases import CLOSED_STATES, Assignment, Case, CaseModel, CaseRecord, CaseState
from ledger.cases.types import EscalationCause, Evaluation, ReopenCause, Satisfaction
from ledger.events import Event
from ledger.membership import Role

MAX_ASSISTING = 7
#: States in which the named departments acknowledge and answer (the contract's ``_withDepartments``).
WITH_DEPARTMENTS = frozenset({CaseState.DISPATCHED, CaseState.ACKNOWLEDGED, CaseState.AWAITING_EVALUATION,
                              CaseState.REOPENED})
#: States a case is sent back from, and escalated from (``_escalable``).
SENDABLE = frozenset({CaseState.DISPATCHED, CaseState.ACKNOWLEDGED, CaseState.REOPENED})
ESCALABLE = SENDABLE | {CaseState.SENT_BACK}


@dataclass(frozen=True)
class Follow:
    """An event the previous one requires next, in its transaction, for its case."""

    tx_hash: str
    case_id: int
    name: str
    cause: int  # CaseEscalated's or CaseReopened's cause
    after: Event


@dataclass
class LevelProposal:
    category: int
    ack_seconds: int
    resolve_seconds: int
    expires_at: int
    approvers: list[int] = field(default_factory=list)
    applied: bool = False


class CaseReplay:
    """The cases reducer's state, each event checked against the rules before it is folded in."""

    contract = "CaseDesk"

    def __init__(
        self, out: Collector, registry: MembershipReplay, deploy_tx: str | None = None, *, keep_events: bool = True
    ) -> None:
        self.out = out
        self.reg = registry
        self.deploy_tx = (deploy_tx or "").lower()
        self.model = CaseModel()
        self.events: list[Event] = []  # every CaseDesk event, in chain order (for the metrics), if kept
        self._keep = keep_events
        self.proposals: dict[int, LevelProposal] = {}
        self.categories: set[int] = set()  # every category ever given a service level
        self._follow: Follow | None = None
        #: the checks of each case event, run before it is folded (with the event it was owed by, if any)
        self._before: dict[str, Callable[[CaseRecord, Event, Follow | None], None]] = {
            "CaseDispatched": self._dispatched, "CaseAcknowledged": self._acknowledged, "CaseAnswered": self._answered,
            "CaseSentBack": self._sent_back, "CaseEscalated": self._escalated, "CaseEvaluated": self._evaluated,
            "CaseReopened": self._reopened, "SatisfactionRecorded": self._satisfaction,
        }

    # ------------------------------------------------------------------ replay

    def on_event(self, e: Event) -> None:
        if self._keep:
            self.events.append(e)
        follow, self._follow = self._follow, None
        if follow is not None and not (e.tx_hash == follow.tx_hash and e.name == follow.name
                                       and int(e.args.get("caseId", 0)) == follow.case_id):
            self._missing(follow)
            follow = None
        n, a = e.name, e.args
        if n.startswith("ServiceLevel"):
            self._service_level(e)
        elif n == "CaseRaised":
            self._raised(e)
        elif n in self._before:
            c = self.model.cases.get(int(a["caseId"]))
            if not self.out.expect("state.replay-inconsistent", c is not None,
                                   f"{n} for unknown case {a['caseId']}", event=e):
                return
            assert c is not None
            self._before[n](c, e, follow)
        self.model.apply(e)

    def finish(self) -> None:
        """The history's end: an event still owed by the last transaction is missing."""
        if self._follow is not None:
            self._missing(self._follow)
            self._follow = None

    def _missing(self, f: Follow) -> None:
        self.out.add("cases.transition-skipped",
                     f"case {f.case_id}: {f.after.name} is not followed by its {f.name} in the same transaction",
                     event=f.after, case=f.case_id, expected=f.name)

    def _rule(self, rule: str, ok: bool, c: CaseRecord | int, e: Event, message: str, **records: object) -> bool:
        cid = c if isinstance(c, int) else c.id
        return self.out.expect(rule, ok, f"case {cid}: {message}", event=e, case=cid, **records)

    def _by(self, e: Event, member: int) -> bool:
        """Whether the event's ``account`` is an active account of ``member`` (at that event)."""
        account = str(e.args.get("account", ""))
        return member != 0 and self.reg.active_account(account) and self.reg.member_id(account) == member

    def _holds(self, member: int, role: Role) -> bool:
        """Whether ``member`` is an active member holding ``role`` (at the event being replayed)."""
        m = self.reg.members.get(member)
        return m is not None and m.active and m.has(role)

    def _state(self, c: CaseRecord, e: Event, allowed: frozenset[CaseState] | set[CaseState]) -> bool:
        return self._rule("cases.transition-skipped", c.state in allowed, c, e,
                          f"{e.name} in state {c.state.name}", state=c.state.name)

    # ------------------------------------------------------------------ dispatches

    def _raised(self, e: Event) -> None:
        a = e.args
        cid, raiser = int(a["caseId"]), int(a["raiserId"])
        self.out.expect("state.replay-inconsistent", cid == len(self.model.cases) + 1,
                        f"case id {cid} out of sequence", event=e)
        self._rule("cases.dispatch-unauthorised",
                   self._by(e, raiser) and self._holds(raiser, Role.SUB_DISTRICT), cid, e,
                   f"raised by {a['account']}, not an active account of a SubDistrict member {raiser}",
                   raiser=raiser)
        self._follow = Follow(e.tx_hash, cid, "CaseDispatched", 0, e)

    def _dispatched(self, c: CaseRecord, e: Event, follow: Follow | None) -> None:
        a, t = e.args, e.block_time
        lead, assisting, acting = int(a["leadId"]), [int(m) for m in a["assistingIds"]], int(a["memberId"])
        by_district = c.state == CaseState.ESCALATED and follow is None
        if follow is not None:  # the dispatch of a raising
            ok, who = int(a["round"]) == 1 and acting == c.raiser_id, "raiser"
        elif c.state == CaseState.SENT_BACK:
            ok, who = self._by(e, c.raiser_id), "raiser"
        elif c.state == CaseState.ESCALATED:
            ok, who = self._by(e, acting) and self.reg.has_role(str(a["account"]), Role.DISTRICT), "District"
        else:
            self._state(c, e, {CaseState.SENT_BACK, CaseState.ESCALATED})
            ok, who = True, ""
        self._rule("cases.dispatch-unauthorised", ok, c, e, f"dispatched by {a['account']}, not the {who}",
                   acting=acting)
        self._rule("cases.transition-skipped", int(a["round"]) == c.dispatch.round + 1, c, e,
                   f"dispatch round {a['round']} after round {c.dispatch.round}")
        team = [lead, *assisting]
        bad = [m for i, m in enumerate(team) if not (i == 0 and by_district and m == acting)
               and not self._holds(m, Role.DEPARTMENT)]
        self._rule("cases.dispatch-unauthorised",
                   not bad and len(set(team)) == len(team) and len(assisting) <= MAX_ASSISTING, c, e,
                   f"the dispatch names {team}: {bad or 'a department twice, or too many'} not Department members",
                   team=team, not_departments=bad)
        level = self.model.levels.get(int(a["category"]))
        expected = (t + level.ack_seconds, t + level.resolve_seconds) if level else None
        got = (int(a["ackDeadline"]), int(a["resolveDeadline"]))
        self._rule("cases.deadline-mismatch", got == expected, c, e,
                   f"deadlines {got} at time {t}; category {a['category']}'s service level in force gives {expected}",
                   deadlines=list(got), expected=list(expected) if expected else None,
                   level=None if level is None else [level.ack_seconds, level.resolve_seconds])

    # ------------------------------------------------------------------ the departments

    def _named(self, c: CaseRecord, e: Event) -> int:
        member = int(e.args["memberId"])
        lead_ok = "lead" not in e.args or bool(e.args["lead"]) == (member == c.lead_id)  # no flag on a send-back
        self._rule("cases.actor-not-named", member in c.team and self._by(e, member) and lead_ok, c, e,
                   f"{e.name} by member {member} ({e.args['account']}); the current dispatch names {list(c.team)}",
                   member=member, team=list(c.team))
        return member

    def _acted(self, c: CaseRecord, e: Event, legal: Callable[[int], bool], why: str, deadline: int) -> None:
        """An acknowledgement or an answer: by a named department, ``legal`` for it now (else it
        ``why``), its ``late`` flag whether it came after ``deadline``."""
        member = self._named(c, e)
        if self._state(c, e, WITH_DEPARTMENTS):
            self._rule("cases.transition-skipped", legal(member), c, e, f"member {member} {why}")
        late = e.block_time > deadline
        self._rule("cases.deadline-mismatch", bool(e.args["late"]) == late, c, e,
                   f"{e.name} at {e.block_time}, deadline {deadline}: late is {late}, recorded {bool(e.args['late'])}")

    def _acknowledged(self, c: CaseRecord, e: Event, _: Follow | None) -> None:
        self._acted(c, e, lambda m: m not in c.dispatch.acknowledged, "acknowledged this dispatch already",
                    c.ack_deadline)

    def _answered(self, c: CaseRecord, e: Event, _: Follow | None) -> None:
        self._acted(c, e, lambda m: m in c.dispatch.acknowledged and m not in c.answered,
                    "answered without acknowledging this dispatch, or twice", c.resolve_deadline)

    def _sent_back(self, c: CaseRecord, e: Event, _: Follow | None) -> None:
        a = e.args
        member, responsible = self._named(c, e), int(a["responsibleId"])
        self._state(c, e, SENDABLE)
        known = responsible == 0 or (responsible in self.reg.members and self.reg.members[responsible].active)
        self._rule("cases.transition-skipped",
                   int(a["sendBacks"]) == c.send_backs + 1 and responsible != member and known, c, e,
                   f"send-back {a['sendBacks']} (after {c.send_backs}) naming member {responsible}")
        if responsible == 0 or int(a["sendBacks"]) >= 2:
            cause = EscalationCause.NO_OWNER if responsible == 0 else EscalationCause.SENT_BACK_TWICE
            self._follow = Follow(e.tx_hash, c.id, "CaseEscalated", int(cause), e)

    def _escalated(self, c: CaseRecord, e: Event, follow: Follow | None) -> None:
        cause = int(e.args["cause"])
        if follow is not None:
            self._rule("cases.escalation-invalid", cause == follow.cause, c, e,
                       f"escalated with cause {cause} after a send-back that gives cause {follow.cause}")
            return
        self._state(c, e, ESCALABLE)
        overdue = c.overdue(e.block_time)
        ok = ((cause == EscalationCause.OVERDUE and overdue)
              or (cause == EscalationCause.BY_RAISER and not overdue and self._by(e, c.raiser_id)))
        self._rule("cases.escalation-invalid", ok, c, e,
                   f"escalated (cause {cause}) by {e.args['account']}; overdue then: {overdue}", cause=cause)

    # ------------------------------------------------------------------ the raiser and the residents

    def _evaluated(self, c: CaseRecord, e: Event, _: Follow | None) -> None:
        self._state(c, e, {CaseState.AWAITING_EVALUATION})
        member = int(e.args["memberId"])
        self._rule("cases.evaluation-not-raiser", member == c.raiser_id and self._by(e, c.raiser_id), c, e,
                   f"evaluated by member {member} ({e.args['account']}), the raiser is {c.raiser_id}",
                   member=member, raiser=c.raiser_id)
        if int(e.args["outcome"]) == Evaluation.REJECTED:
            self._follow = Follow(e.tx_hash, c.id, "CaseReopened", int(ReopenCause.REJECTED), e)

    def _reopened(self, c: CaseRecord, e: Event, follow: Follow | None) -> None:
        cause = int(e.args["cause"])
        self._rule("cases.transition-skipped", follow is not None and follow.cause == cause, c, e,
                   "reopened without the rejection or the dissatisfaction that reopens it")
        expected = e.block_time + c.resolve_seconds
        self._rule("cases.deadline-mismatch", int(e.args["resolveDeadline"]) == expected, c, e,
                   f"reopened with resolve deadline {e.args['resolveDeadline']}; the duration fixed at dispatch "
                   f"gives {expected}")

    def _satisfaction(self, c: CaseRecord, e: Event, _: Follow | None) -> None:
        a = e.args
        self._state(c, e, set(CLOSED_STATES))
        member, t = int(a["memberId"]), e.block_time
        until = c.closed_at + self.model.satisfaction_window
        problems = [p for p, bad in (
            ("not a Channel member's account", not (self._by(e, member) and self._holds(member, Role.CHANNEL))),
            (f"the case names channel {c.channel_id}", c.channel_id not in (0, member)),
            (f"after the window closed at {until}", t > until),
            ("recorded since this closing already", c.satisfaction != 0),
        ) if bad]
        reopens = int(a["level"]) == Satisfaction.DISSATISFIED and not c.dissatisfaction_reopened
        if bool(a["reopened"]) != reopens:
            problems.append(f"reopened is {bool(a['reopened'])}, the rule gives {reopens}")
        self._rule("cases.satisfaction-invalid", not problems, c, e,
                   f"satisfaction by member {member}: {'; '.join(problems)}", member=member, problems=problems)
        if a["reopened"]:
            self._follow = Follow(e.tx_hash, c.id, "CaseReopened", int(ReopenCause.DISSATISFIED), e)

    # ------------------------------------------------------------------ service levels

    def _service_level(self, e: Event) -> None:
        a, n = e.args, e.name
        if n == "ServiceLevelProposed":
            pid = int(a["proposalId"])
            self.out.expect("state.replay-inconsistent", pid == len(self.proposals) + 1,
                            f"service-level proposal {pid} out of sequence", event=e)
            self.proposals[pid] = LevelProposal(int(a["category"]), int(a["ackSeconds"]), int(a["resolveSeconds"]),
                                                int(a["expiresAt"]))
            return
        p = self.proposals.get(int(a["proposalId"]))
        if n == "ServiceLevelApproved":
            member = int(a["memberId"])
            self.out.expect("cases.service-level-unapproved",
                            p is not None and not p.applied and member not in p.approvers
                            and e.block_time < p.expires_at and self._by(e, member)
                            and self._holds(member, Role.COUNCIL),
                            f"service-level proposal {a['proposalId']} approved by member {member} "
                            "(not a council member's account, twice, or the proposal not open)", event=e)
            if p is not None:
                p.approvers.append(member)
        elif n == "ServiceLevelSet":
            self.categories.add(int(a["category"]))
            if int(a["proposalId"]) == 0:
                ok, why = e.tx_hash == self.deploy_tx, "outside the deployment"
            else:
                approvals = sum(1 for m in p.approvers if self._holds(m, Role.COUNCIL)) if p else 0
                ok = (p is not None and not p.applied and approvals >= self.reg.threshold
                      and (p.category, p.ack_seconds, p.resolve_seconds)
                      == (int(a["category"]), int(a["ackSeconds"]), int(a["resolveSeconds"])))
                why = (f"by proposal {a['proposalId']} with {approvals} council approvals, "
                       f"threshold {self.reg.threshold}")
                if p is not None:
                    p.applied = True
            self.out.expect("cases.service-level-unapproved", ok,
                            f"category {a['category']}'s service level set {why}", event=e)

    # ------------------------------------------------------------------ state

    def checks(self, head_time: int) -> Checks:
        """The contract's views, and what the reducer says they answer at ``head_time``."""
        m = self.model
        c = Checks(self.contract)
        c.expect("caseCount", [], len(m.cases), "caseCount")
        c.expect("satisfactionWindow", [], m.satisfaction_window, "satisfactionWindow")
        c.expect("proposalCount", [], len(self.proposals), "proposalCount")
        for cat in sorted(self.categories):
            level = m.levels.get(cat)
            c.expect("serviceLevel", [cat], [level.ack_seconds, level.resolve_seconds] if level else [0, 0],
                     f"service level of category {cat}", pick=list)
        for record in m.cases.values():
            view = m.case(record, head_time)
            c.expect("getCase", [record.id], view_struct(Case, view), f"case {record.id}")
            c.expect("caseState", [record.id], int(view.state), f"state of case {record.id}")
            c.expect("isOverdue", [record.id], view.overdue, f"overdue of case {record.id}")
            c.expect("team", [record.id], list(record.team), f"team of case {record.id}", pick=list)
            for member in record.team:
                c.expect("assignment", [record.id, member], view_struct(Assignment, m.assignment(record, member)),
                         f"assignment of {member} in case {record.id}")
        return c
