"""Cases (街乡吹哨,部门报到): re-exports only.

- :mod:`ledger.cases.types`: the enums of ``CaseDesk``, the categories' service levels and the
  frozen records its views return.
- :mod:`ledger.cases.contract`: the typed wrapper (:class:`CaseDesk`).
- :mod:`ledger.cases.model`: the pure reducer folding its events (:class:`CaseModel`).
- :mod:`ledger.cases.metrics`: the rates by their published rule (:class:`Tally`).
"""

from ledger.cases.contract import CaseDesk as CaseDesk
from ledger.cases.contract import assignment_from_view as assignment_from_view
from ledger.cases.contract import case_from_view as case_from_view
from ledger.cases.metrics import BY as BY
from ledger.cases.metrics import CST as CST
from ledger.cases.metrics import By as By
from ledger.cases.metrics import Closings as Closings
from ledger.cases.metrics import Responses as Responses
from ledger.cases.metrics import Satisfactions as Satisfactions
from ledger.cases.metrics import Tally as Tally
from ledger.cases.metrics import month_of as month_of
from ledger.cases.metrics import overall as overall
from ledger.cases.metrics import tallies as tallies
from ledger.cases.model import CASE_EVENTS as CASE_EVENTS
from ledger.cases.model import MODEL_EVENTS as MODEL_EVENTS
from ledger.cases.model import CaseModel as CaseModel
from ledger.cases.model import CaseRecord as CaseRecord
from ledger.cases.model import cases_at as cases_at
from ledger.cases.types import CLOSED_STATES as CLOSED_STATES
from ledger.cases.types import NAME as NAME
from ledger.cases.types import SATISFACTION_WINDOW as SATISFACTION_WINDOW
from ledger.cases.types import STANDARD_LEVELS as STANDARD_LEVELS
from ledger.cases.types import Assignment as Assignment
from ledger.cases.types import Case as Case
from ledger.cases.types import CaseState as CaseState
from ledger.cases.types import EscalationCause as EscalationCause
from ledger.cases.types import Evaluation as Evaluation
from ledger.cases.types import ReopenCause as ReopenCause
from ledger.cases.types import Satisfaction as Satisfaction
from ledger.cases.types import ServiceLevel as ServiceLevel
