"""The typed wrapper of the cases contract (``CaseDesk``, 街乡吹哨,部门报到).

Reads return frozen dataclasses (:mod:`ledger.cases.types`); each write has ``x_call(...)``,
which prepares it (a :class:`~ledger.client.ContractCall` to send with a journal:
``ledger.send(signer, call, journal)``), and ``x(signer, ...)``, which sends it and waits.
Descriptions, reports and evidence are hashes on chain (keccak256 of the off-chain text or
file): their text, and residents' personal data, never go on chain.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ledger.abi.records import record_from_view
from ledger.cases.model import MODEL_EVENTS, CaseModel
from ledger.cases.types import NAME, Assignment, Case, CaseState, Evaluation, Satisfaction, ServiceLevel
from ledger.client import ContractCall, TxReceipt
from ledger.errors import NotDeployed
from ledger.events import Event, read_events
from ledger.keys import Signer
from ledger.wrapper import ContractWrapper


class CaseDesk(ContractWrapper):
    """The CaseDesk contract of one deployment."""

    contract = NAME

    # ---------------------------------------------------------------- reads

    def satisfaction_window(self) -> int:
        return int(self._call("satisfactionWindow"))

    def max_assisting(self) -> int:
        return int(self._call("MAX_ASSISTING"))

    def service_level(self, category: int) -> ServiceLevel:
        ack, resolve = self._call("serviceLevel", category)
        return ServiceLevel(category, int(ack), int(resolve))

    def case_count(self) -> int:
        return int(self._call("caseCount"))

    def case(self, case_id: int) -> Case:
        return record_from_view(Case, self._call("getCase", case_id))

    def cases(self) -> list[Case]:
        return [self.case(i) for i in range(1, self.case_count() + 1)]

    def case_state(self, case_id: int) -> CaseState:
        return CaseState(int(self._call("caseState", case_id)))

    def is_overdue(self, case_id: int) -> bool:
        return bool(self._call("isOverdue", case_id))

    def team(self, case_id: int) -> list[int]:
        """The current dispatch's departments, the lead first."""
        return [int(x) for x in self._call("team", case_id)]

    def assignment(self, case_id: int, member_id: int) -> Assignment:
        return record_from_view(Assignment, self._call("assignment", case_id, member_id))

    def events(self, names: Collection[str] | None = MODEL_EVENTS) -> list[Event]:
        """The desk's events (default: those its reducer folds) from its deployment block to the
        head, read by the log scanner (no index needed), with their block times."""
        if self.ledger.manifest is None or NAME not in self.ledger.manifest.contracts:
            raise NotDeployed(f"no {NAME} in the deployment manifest")
        dep = self.ledger.manifest.contracts[NAME]
        return read_events(self.ledger, {NAME: dep.address}, dep.block_number, self.ledger.block_number(), names)

    def model(self) -> CaseModel:
        """The reducer over every event of the desk so far."""
        return CaseModel.of(self.events())

    # ---------------------------------------------------------------- writes

    def raise_case_call(
        self, category: int, area_code: int, description_hash: bytes, report_hashes: Sequence[bytes],
        lead_id: int, assisting_ids: Sequence[int] = (), channel_id: int = 0,
    ) -> ContractCall:
        return self._prepare(
            "raiseCase", category, area_code, description_hash, [bytes(x) for x in report_hashes], channel_id,
            lead_id, [int(x) for x in assisting_ids],
        )

    def raise_case(
        self, signer: Signer, category: int, area_code: int, description_hash: bytes, report_hashes: Sequence[bytes],
        lead_id: int, assisting_ids: Sequence[int] = (), channel_id: int = 0,
    ) -> tuple[int, TxReceipt]:
        """Raise (吹哨) and dispatch a case, as a SubDistrict member. Returns (case id, receipt)."""
        call = self.raise_case_call(
            category, area_code, description_hash, report_hashes, lead_id, assisting_ids, channel_id
        )
        r = self.ledger.transact(signer, call)
        return int(r.event("CaseRaised").args["caseId"]), r

    def acknowledge_call(self, case_id: int) -> ContractCall:
        return self._prepare("acknowledge", case_id)

    def acknowledge(self, signer: Signer, case_id: int) -> TxReceipt:
        """Acknowledge (报到) as a named department."""
        return self.ledger.transact(signer, self.acknowledge_call(case_id))

    def answer_call(self, case_id: int, evidence_hash: bytes) -> ContractCall:
        return self._prepare("answer", case_id, evidence_hash)

    def answer(self, signer: Signer, case_id: int, evidence_hash: bytes) -> TxReceipt:
        return self.ledger.transact(signer, self.answer_call(case_id, evidence_hash))

    def send_back_call(self, case_id: int, reason_code: int, responsible_id: int) -> ContractCall:
        return self._prepare("sendBack", case_id, reason_code, responsible_id)

    def send_back(self, signer: Signer, case_id: int, reason_code: int, responsible_id: int) -> TxReceipt:
        """Send the case back (退单), naming the member believed responsible (0: none known)."""
        return self.ledger.transact(signer, self.send_back_call(case_id, reason_code, responsible_id))

    def redispatch_call(
        self, case_id: int, category: int, lead_id: int, assisting_ids: Sequence[int] = ()
    ) -> ContractCall:
        return self._prepare("redispatch", case_id, category, lead_id, [int(x) for x in assisting_ids])

    def redispatch(
        self, signer: Signer, case_id: int, category: int, lead_id: int, assisting_ids: Sequence[int] = ()
    ) -> TxReceipt:
        return self.ledger.transact(signer, self.redispatch_call(case_id, category, lead_id, assisting_ids))

    def escalate_call(self, case_id: int) -> ContractCall:
        return self._prepare("escalate", case_id)

    def escalate(self, signer: Signer, case_id: int) -> TxReceipt:
        return self.ledger.transact(signer, self.escalate_call(case_id))

    def evaluate_call(self, case_id: int, outcome: Evaluation, reason_code: int = 0) -> ContractCall:
        return self._prepare("evaluate", case_id, int(outcome), reason_code)

    def evaluate(self, signer: Signer, case_id: int, outcome: Evaluation, reason_code: int = 0) -> TxReceipt:
        return self.ledger.transact(signer, self.evaluate_call(case_id, outcome, reason_code))

    def record_satisfaction_call(self, case_id: int, level: Satisfaction) -> ContractCall:
        return self._prepare("recordSatisfaction", case_id, int(level))

    def record_satisfaction(self, signer: Signer, case_id: int, level: Satisfaction) -> TxReceipt:
        return self.ledger.transact(signer, self.record_satisfaction_call(case_id, level))

    def propose_service_level_call(self, level: ServiceLevel) -> ContractCall:
        return self._prepare("proposeServiceLevel", level.category, level.ack_seconds, level.resolve_seconds)

    def propose_service_level(self, signer: Signer, level: ServiceLevel) -> tuple[int, TxReceipt]:
        """Propose a category's service level as a council member (its approval counted at once)."""
        r = self.ledger.transact(signer, self.propose_service_level_call(level))
        return int(r.event("ServiceLevelProposed").args["proposalId"]), r

    def approve_service_level_call(self, proposal_id: int) -> ContractCall:
        return self._prepare("approveServiceLevel", proposal_id)

    def approve_service_level(self, signer: Signer, proposal_id: int) -> TxReceipt:
        return self.ledger.transact(signer, self.approve_service_level_call(proposal_id))
