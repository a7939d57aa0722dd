"""The typed wrapper of ``CaseDesk`` (街乡吹哨,部门报到): views as frozen records, writes as
prepared calls.

Each write is ``x_call(...)`` (a :class:`~ledger.client.ContractCall` to send with a journal:
``ledger.send(signer, call, journal)``, as the API does) and ``x(signer, ...)``, which sends it
and waits for the receipt; :meth:`CaseDesk.raise_case` also returns the new case's id. Nothing
here checks a rule: the contract does, and the pre-flight names its refusal
(:class:`~ledger.errors.ContractReverted` with the custom error) before anything is signed.

Hashes on chain: the description (``descriptionHash``), the residents' reports
(``reportHashes``) and the evidence of an answer (``evidenceHash``) are 32-byte hashes of
texts or files kept off chain (:mod:`ledger.fund.docs`: kinds ``case``, ``case_public`` and
``evidence``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.abi.records import record_from_view
from ledger.cases.types import NAME, Assignment, Case, CaseState, Evaluation, Satisfaction, ServiceLevel
from ledger.client import ContractCall
from ledger.wrapper import ContractWrapper, sending, sending_for


class CaseDesk(ContractWrapper):
    """The CaseDesk contract of one deployment."""

    contract = NAME

    # ---------------------------------------------------------------- reads

    def satisfaction_window(self) -> int:
        return int(self._call("satisfactionWindow"))

    def max_assisting(self) -> int:
        return int(self._call("MAX_ASSISTING"))

    def service_level(self, category: int) -> ServiceLevel:
        """The category's deadlines now ((0, 0): none, or retired)."""
        ack, resolve = self._call("serviceLevel", category)
        return ServiceLevel(category, int(ack), int(resolve))

    def case_count(self) -> int:
        return int(self._call("caseCount"))

    def case(self, case_id: int) -> Case:
        return case_from_view(self._call("getCase", case_id))

    def case_state(self, case_id: int) -> CaseState:
        return CaseState(int(self._call("caseState", case_id)))

    def is_overdue(self, case_id: int) -> bool:
        return bool(self._call("isOverdue", case_id))

    def team(self, case_id: int) -> tuple[int, ...]:
        """The current dispatch's departments, the lead first."""
        return tuple(int(m) for m in self._call("team", case_id))

    def assignment(self, case_id: int, member_id: int) -> Assignment:
        return assignment_from_view(self._call("assignment", case_id, member_id))

    def proposal_count(self) -> int:
        return int(self._call("proposalCount"))

    # ---------------------------------------------------------------- prepared writes

    def raise_call(
        self, category: int, area_code: int, description_hash: bytes, lead_id: int, assisting_ids: Sequence[int] = (),
        *, report_hashes: Sequence[bytes] = (), channel_id: int = 0,
    ) -> ContractCall:
        """Raise a case (吹哨, a sub-district) and dispatch it to ``lead_id`` and ``assisting_ids``."""
        return self._prepare("raiseCase", category, area_code, description_hash, list(report_hashes), channel_id,
                             lead_id, list(assisting_ids))

    def acknowledge_call(self, case_id: int) -> ContractCall:
        """Acknowledge (报到) as a department named in the current dispatch."""
        return self._prepare("acknowledge", case_id)

    def answer_call(self, case_id: int, evidence_hash: bytes) -> ContractCall:
        """Answer with the evidence of the work (after acknowledging); the lead's asks for evaluation."""
        return self._prepare("answer", case_id, evidence_hash)

    def send_back_call(self, case_id: int, reason_code: int, responsible_id: int) -> ContractCall:
        """Send back (退单) naming the member believed responsible (0: none, which escalates)."""
        return self._prepare("sendBack", case_id, reason_code, responsible_id)

    def redispatch_call(
        self, case_id: int, category: int, lead_id: int, assisting_ids: Sequence[int] = ()
    ) -> ContractCall:
        """Dispatch again: the raiser a SentBack case, the district an Escalated one."""
        return self._prepare("redispatch", case_id, category, lead_id, list(assisting_ids))

    def escalate_call(self, case_id: int) -> ContractCall:
        """To the district (兜底): the raiser any open case; anyone an overdue one."""
        return self._prepare("escalate", case_id)

    def evaluate_call(self, case_id: int, outcome: Evaluation, reason_code: int = 0) -> ContractCall:
        """The raiser's evaluation of the lead's answer."""
        return self._prepare("evaluate", case_id, int(outcome), reason_code)

    def satisfaction_call(self, case_id: int, level: Satisfaction) -> ContractCall:
        """The residents' satisfaction with a closed case (a Channel member, within the window)."""
        return self._prepare("recordSatisfaction", case_id, int(level))

    def propose_service_level_call(self, level: ServiceLevel) -> ContractCall:
        """Propose a category's service level (council; (0, 0) retires the category)."""
        return self._prepare("proposeServiceLevel", *level.spec())

    def approve_service_level_call(self, proposal_id: int) -> ContractCall:
        return self._prepare("approveServiceLevel", proposal_id)

    # ---------------------------------------------------------------- sent and waited for

    raise_case = sending_for(raise_call, "CaseRaised", "caseId")
    acknowledge = sending(acknowledge_call)
    answer = sending(answer_call)
    send_back = sending(send_back_call)
    redispatch = sending(redispatch_call)
    escalate = sending(escalate_call)
    evaluate = sending(evaluate_call)
    record_satisfaction = sending(satisfaction_call)


def case_from_view(raw: Mapping[str, Any]) -> Case:
    """``getCase``'s decoded struct as its record."""
    return record_from_view(Case, raw)


def assignment_from_view(raw: Mapping[str, Any]) -> Assignment:
    """``assignment``'s decoded struct as its record."""
    return record_from_view(Assignment, raw)
