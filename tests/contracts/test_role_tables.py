"""Each product contract's role table names exactly its state-changing functions (from the ABI):
a function added to a contract without a row in its table fails here."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import state_changing_functions
from tests.contracts.test_cases import CASE_ROLES
from tests.contracts.test_checkpoints import CHECKPOINT_ROLES
from tests.contracts.test_credit import CREDIT_ROLES
from tests.contracts.test_fund import FUND_ROLES


@pytest.mark.parametrize(
    ("table", "contract"),
    [(CREDIT_ROLES, "CommunityCredit"), (FUND_ROLES, "CoGovFund"), (CASE_ROLES, "CaseDesk"),
     (CHECKPOINT_ROLES, "AccessCheckpoints")],
)
def test_role_table_covers_the_abi(table: dict[str, str], contract: str) -> None:
    assert set(table) == state_changing_functions(contract)
