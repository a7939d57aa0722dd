"""A history of cases (街乡吹哨,部门报到) in every state, made on a live CaseDesk, for the portal's,
the browser's and the auditor's tests.

On a fresh desk with the short service levels of :data:`tests.ledger.test_cases_model.LEVELS`
(category 1: acknowledge in 30 s, resolve in 90 s; category 2: 60 s, 300 s), so the shared
session chain's clock moves by seconds only: :func:`private_desk` deploys one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from ledger.cases import CaseDesk, Evaluation, Satisfaction
from ledger.client import Ledger
from ledger.testing import MEMBER_IDS, Deployment
from tests.api.test_fund_support import move_time
from tests.ledger.test_cases_model import AREA, LEVELS, private_desk

__all__ = ["AREA", "LEVELS", "PUBLIC_TEXT", "CaseHistory", "build_case_history", "private_desk"]

#: The description of the "sent_back" case: hashed without a salt (public, kind ``case_public``).
PUBLIC_TEXT = "幸福里 3 号楼消防通道被占，需要物业和城管共同处理"


@dataclass
class CaseHistory:
    led: Ledger
    manifest: Path
    cases: dict[str, int] = field(default_factory=dict)  # label -> case id

    @property
    def desk(self) -> CaseDesk:
        return CaseDesk(self.led)


def build_case_history(deployment: Deployment, directory: Path) -> CaseHistory:
    """A fresh CaseDesk (in ``directory``'s manifest) and, on it, one case per label:

    - ``fixed``: 城管 leads, 卫健委 assists; both acknowledge and answer; fixed; 满意.
    - ``reopened``: answered, rejected by the sub-district: Reopened.
    - ``sent_back``: 卫健委 sends it back naming 绿城物业: SentBack (its description is public).
    - ``escalated``: the sub-district escalates it: Escalated.
    - ``not_fixed``: closed not fixed; 基本满意.
    - ``awaiting``: the lead answered: AwaitingEvaluation.
    - ``overdue``: category 1, only the assisting department acknowledges; the clock moves past
      the acknowledge deadline: Dispatched and overdue.
    - ``late``: category 1, its lead acknowledges after the deadline (late): Acknowledged.
    """
    led = private_desk(deployment, directory)
    h = CaseHistory(led, directory / "deployment.json")
    desk, s, ids = h.desk, deployment.signers, MEMBER_IDS
    a, b = ids["dept_a"], ids["dept_b"]

    def raised(label: str, category: int, lead: int, *assisting: int, text: str | None = None) -> int:
        description = keccak(text=text) if text else keccak(text=f"{label} {directory}")
        cid, _ = desk.raise_case(s["subdistrict"], category, AREA, description, lead, assisting,
                                 report_hashes=[keccak(text=f"report {label} {i}") for i in range(2)],
                                 channel_id=ids["channel"])
        h.cases[label] = cid
        return cid

    def answered(cid: int, *who: str) -> None:
        for label in who:
            desk.acknowledge(s[label], cid)
        for label in who:
            desk.answer(s[label], cid, keccak(text=f"evidence {cid} {label}"))

    fixed = raised("fixed", 2, b, a)
    answered(fixed, "dept_a", "dept_b")
    desk.evaluate(s["subdistrict"], fixed, Evaluation.FIXED)
    desk.record_satisfaction(s["channel"], fixed, Satisfaction.SATISFIED)
    reopened = raised("reopened", 2, a)
    answered(reopened, "dept_a")
    desk.evaluate(s["subdistrict"], reopened, Evaluation.REJECTED, 7)
    desk.send_back(s["dept_a"], raised("sent_back", 2, a, text=PUBLIC_TEXT), 3, ids["enterprise"])
    desk.escalate(s["subdistrict"], raised("escalated", 2, b))
    not_fixed = raised("not_fixed", 2, b)
    answered(not_fixed, "dept_b")
    desk.evaluate(s["subdistrict"], not_fixed, Evaluation.NOT_FIXED)
    desk.record_satisfaction(s["channel"], not_fixed, Satisfaction.BASICALLY_SATISFIED)
    answered(raised("awaiting", 2, b), "dept_b")
    overdue = raised("overdue", 1, a, b)
    desk.acknowledge(s["dept_b"], overdue)  # the assisting department, on time
    late = raised("late", 1, b)
    move_time(led, LEVELS[0].ack_seconds + 1)
    desk.acknowledge(s["dept_b"], late)  # after the deadline: late
    assert desk.is_overdue(overdue) and desk.assignment(late, b).late
    return h
