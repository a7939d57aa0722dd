"""A refusal in words: every custom error of every product ABI has a sentence naming only its own
arguments; money reads in 元, times as local dates with their offset, enums by name."""

from __future__ import annotations

import os
import string
import subprocess
import sys
from datetime import timedelta, timezone

from ledger.abi.reverts import error_table
from ledger.display import format_amount, local_time, span, yuan
from ledger.errors import ContractReverted
from ledger.refusals import SPECS, WORDS, sentence
from tests.api.test_problems import _product_custom_errors


def _arguments() -> dict[str, set[str]]:
    """Custom error name -> its argument names, over every artifact (and Solidity's built-ins)."""
    return {name: {i["name"] for i in inputs} for name, inputs in error_table().values()}


def test_every_custom_error_of_a_product_abi_has_words() -> None:
    missing = sorted(_product_custom_errors().keys() - WORDS.keys())
    assert not missing, f"add words for these to ledger/refusals.py: {missing}"


def test_each_template_names_only_its_errors_arguments_with_a_known_spec() -> None:
    arguments = _arguments()
    for name, template in WORDS.items():
        fields = [(f, spec) for _, f, spec, _ in string.Formatter().parse(template) if f is not None]
        known = arguments.get(name, {"selector"} if name == "UnknownError" else set())
        assert {f for f, _ in fields} <= known, name
        assert all(spec in SPECS for _, spec in fields if spec), name


def test_a_refusal_in_words_with_its_name_after_them() -> None:
    short = ContractReverted("ERC20InsufficientBalance", {"sender": "0xAb", "balance": 1000, "needed": 123456})
    assert short.message == (
        "the balance of 0xAb is 10.00 元, less than the 1,234.56 元 needed (ERC20InsufficientBalance)"
    )
    locked = sentence("FundTimeLocked", {"projectId": 3, "unlocksAt": 1796529600, "nowAt": 1796443200})
    assert locked == (
        "project 3 pays out from 2026-12-06 12:00 +08:00, not yet (now 2026-12-05 12:00 +08:00) (FundTimeLocked)"
    )
    assert sentence("DataGrantNotActive", {"grantId": 7, "state": 2}).startswith("grant 7 is revoked, not active")
    assert sentence("DataMissingRole", {"account": "0x1", "role": 2}) == (
        "account 0x1 lacks the role data governance (DataMissingRole)"
    )
    # a name no artifact declares (a test contract's) and a payload that did not decode keep the old form
    assert sentence("SomeTestError", {"x": b"\x01"}) == "reverted with SomeTestError(x=0x01)"
    assert sentence("FundTimeLocked", {}) == "reverted with FundTimeLocked()"


def test_people_read_money_dates_and_spans() -> None:
    assert format_amount(123450) == "1234.50" and yuan(123456789) == "1,234,567.89 元" and yuan(-5) == "-0.05 元"
    assert yuan(3, 0) == "3 元"
    assert local_time(0) == "—"
    assert local_time(1796529600, timezone(timedelta(hours=-5))) == "2026-12-05 23:00 -05:00"
    assert local_time(1796529600) == "2026-12-06 12:00 +08:00"  # the machine's zone (tests/conftest.py: TZ)
    assert span(3 * 86400 + 4 * 3600 + 5) == "3 d 4 h" and span(45) == "45 s" and span(0) == "0 s"
    assert span(9000) == "2 h 30 min"


def test_the_cli_says_times_in_the_machines_zone() -> None:
    code = "from cogov import output; print(output.when(1796529600))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "TZ": "America/New_York"})
    assert done.stdout.strip() == "2026-12-05 23:00 -05:00"
