"""The cases' writes for one caller: the prepared call, the send through the write's session
(:mod:`api.idempotency`: ``Idempotency-Key``, ``Prefer: respond-async``), and the answer built
from the receipt (the case as the chain's views show it now, in two batches). Each reads top to
bottom: no callbacks.

Who may do what is the contract's alone: a caller without the role (not the raiser, not a named
department, no SubDistrict, District or Channel role, a case not overdue for a non-raiser's
escalation) is refused by the pre-flight before anything is signed, and ``api/problems.py``
answers 403 with the custom error named; an unknown case is 404, a transition the case's state
does not allow is 409. Nothing is checked twice here.

Texts: a description is stored off chain as kind ``case_public`` (marked public by the raising
sub-district: its plain keccak256 on chain) or ``case`` (a salted commitment); an answer's
evidence given as text is kind ``evidence`` (salted). Each is kept once the chain took its write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from api.deps import Caller, WriteRequest
from api.documents import writer
from api.idempotency import Answer
from api.schemas.cases import (
    AnswerCreate,
    CaseCreate,
    CaseWrite,
    EvaluationCreate,
    RedispatchCreate,
    SatisfactionCreate,
    SendBackCreate,
)
from api.schemas.common import tx_info
from api.services.case_reports import refuse_open, reports_named
from api.services.cases import CaseService, Shown
from api.services.names import Members
from api.state import ServiceState
from ledger.cases import NAME, CaseDesk, Evaluation, Satisfaction, assignment_from_view, case_from_view
from ledger.client import ContractCall, TxReceipt
from ledger.fund.docs import Draft, parse_hash


class CaseWrites:
    """One caller's writes on cases, each run as ``write`` asks (its key, sync or async)."""

    def __init__(self, state: ServiceState, caller: Caller, write: WriteRequest) -> None:
        self.state = state
        self.caller = caller
        self.write = write
        self.desk = CaseDesk(state.ledger)
        self.docs = writer(state, caller)

    def raise_case(self, body: CaseCreate) -> Answer:
        """Raise a case (吹哨, SubDistrict); its description kept off chain, public or not as marked."""
        reports = reports_named(self.state, body)  # report_ids resolved to their commitments
        text = self.docs.draft("case_public" if body.description_public else "case", body.description)
        call = self.desk.raise_call(body.category, body.area_code, text.hash, body.lead_id, body.assisting_ids,
                                    report_hashes=[parse_hash(h) for h in reports], channel_id=body.channel_id)
        return self._send(body.model_dump(), call, [text], check=lambda: refuse_open(self.state, reports))

    def acknowledge(self, case_id: int) -> Answer:
        return self._send({"acknowledge": case_id}, self.desk.acknowledge_call(case_id), case_id=case_id)

    def answer_case(self, case_id: int, body: AnswerCreate) -> Answer:
        evidence = self.docs.draft("evidence", body.evidence) if body.evidence is not None else None
        h = evidence.hash if evidence is not None else parse_hash(str(body.evidence_hash))
        return self._send(body.model_dump(), self.desk.answer_call(case_id, h), [evidence], case_id)

    def send_back(self, case_id: int, body: SendBackCreate) -> Answer:
        call = self.desk.send_back_call(case_id, body.reason_code, body.responsible_id)
        return self._send(body.model_dump(), call, case_id=case_id)

    def redispatch(self, case_id: int, body: RedispatchCreate) -> Answer:
        call = self.desk.redispatch_call(case_id, body.category, body.lead_id, body.assisting_ids)
        return self._send(body.model_dump(), call, case_id=case_id)

    def escalate(self, case_id: int) -> Answer:
        return self._send({"escalate": case_id}, self.desk.escalate_call(case_id), case_id=case_id)

    def evaluate(self, case_id: int, body: EvaluationCreate) -> Answer:
        call = self.desk.evaluate_call(case_id, Evaluation[body.outcome.upper()], body.reason_code)
        return self._send(body.model_dump(), call, case_id=case_id)

    def record_satisfaction(self, case_id: int, body: SatisfactionCreate) -> Answer:
        call = self.desk.satisfaction_call(case_id, Satisfaction[body.level.upper()])
        return self._send(body.model_dump(), call, case_id=case_id)

    # ---------------------------------------------------------------- sends and answers

    def _send(
        self, body: dict[str, object], call: ContractCall, drafts: Sequence[Draft | None] = (), case_id: int = 0,
        check: Callable[[], None] | None = None,
    ) -> Answer:
        """Send ``call`` in the write's session (its texts journaled), and answer with the case
        (``case_id``; 0: the one the receipt raised) as the chain shows it: 201 raised, else 200.
        ``check`` runs before a first send only (not before a replay or a resumed write, whose
        effect it would see)."""
        with self.write.session(self.state, self.caller, body, self.docs.journal(drafts)) as w:
            if check is not None and w.earlier is None and w.resumed is None:
                check()
            if (r := w.send(self.state.ledger, self.caller.signer(), call)) is not None:
                self.docs.accept(r)
                raised = case_id == 0
                case = int(r.event("CaseRaised").args["caseId"]) if raised else case_id
                w.done(r, 201 if raised else 200, self.answer(case, r))
        return w.answer

    def answer(self, case_id: int, r: TxReceipt) -> CaseWrite:
        """The case as the chain's views show it now: ``getCase`` and ``team``, then the team's
        ``assignment``\\ s (two JSON-RPC batches); names from the index."""
        led = self.state.ledger
        raw_case, raw_team = led.views([(NAME, "getCase", (case_id,)), (NAME, "team", (case_id,))])
        team = [int(m) for m in raw_team]
        raw = led.views([(NAME, "assignment", (case_id, m)) for m in team])
        s = Shown(case_from_view(raw_case),
                  tuple((m, assignment_from_view(a)) for m, a in zip(team, raw, strict=True)))
        index = self.state.index  # names only: as indexed so far (a write never waits for the index)
        members = Members.cached(index) if index is not None else Members()
        return CaseWrite(tx=tx_info(r), case=CaseService(self.state, self.caller.account).present([s], members)[0])
