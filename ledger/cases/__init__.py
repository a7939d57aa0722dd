"""Cases (街乡吹哨,部门报到): re-exports only.

- :mod:`ledger.cases.types`: the enums of ``CaseDesk`` and the categories' service levels.
"""

from ledger.cases.types import CLOSED_STATES as CLOSED_STATES
from ledger.cases.types import NAME as NAME
from ledger.cases.types import SATISFACTION_WINDOW as SATISFACTION_WINDOW
from ledger.cases.types import STANDARD_LEVELS as STANDARD_LEVELS
from ledger.cases.types import CaseState as CaseState
from ledger.cases.types import EscalationCause as EscalationCause
from ledger.cases.types import Evaluation as Evaluation
from ledger.cases.types import ReopenCause as ReopenCause
from ledger.cases.types import Satisfaction as Satisfaction
from ledger.cases.types import ServiceLevel as ServiceLevel
