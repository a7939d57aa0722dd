"""Cases (街乡吹哨,部门报到): re-exports only.

- :mod:`ledger.cases.types`: the enums of ``CaseDesk``, the service levels, the frozen records
  its views return.
- :mod:`ledger.cases.contract`: the typed wrapper of ``CaseDesk``.
- :mod:`ledger.cases.model`: the pure reducer folding its events into those records.
- :mod:`ledger.cases.metrics`: the published rule of the response, resolution, satisfaction and
  on-time rates, over the reducer.
"""

from ledger.cases.contract import CaseDesk as CaseDesk
from ledger.cases.metrics import CaseMetrics as CaseMetrics
from ledger.cases.metrics import Rate as Rate
from ledger.cases.metrics import Rates as Rates
from ledger.cases.metrics import case_metrics as case_metrics
from ledger.cases.metrics import month_of as month_of
from ledger.cases.model import MODEL_EVENTS as MODEL_EVENTS
from ledger.cases.model import CaseModel as CaseModel
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
