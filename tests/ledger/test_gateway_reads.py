"""The batched views the gateway and the API's write paths read the chain with."""

from __future__ import annotations

import pytest

from ledger.data import NAME as DS
from ledger.errors import ContractReverted
from ledger.membership import NAME as REG
from ledger.membership import Registry
from tests.conftest import MEMBER_IDS, Deployment


def test_views_batch_decodes_as_call_and_raises_its_reverts(deployment: Deployment) -> None:
    led = deployment.ledger()
    account = deployment.signers["dept_a"].address
    calls = [(REG, "accountInfo", (account,)), (REG, "getMember", (MEMBER_IDS["dept_a"],)), (DS, "grantCount", ())]
    assert led.views(calls) == [led.call(n, f, *a) for n, f, a in calls]
    assert led.views(calls[:1]) == [led.call(REG, "accountInfo", account)]
    info = Registry(led).account_info(account)
    assert info.member_id == MEMBER_IDS["dept_a"] and info.active
    assert not Registry(led).account_info("0x" + "11" * 20).active
    with pytest.raises(ContractReverted) as exc:  # the failing view raises exactly what Ledger.call would
        led.views([(DS, "grantCount", ()), (DS, "getDataset", (10**9,))])
    assert exc.value.error_name == "DataUnknownDataset"
