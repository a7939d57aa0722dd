"""Refusals in words (ledger/refusals/): every custom error of every product ABI has a sentence in
both languages naming only its own arguments with a known format spec; money reads in 元, times
as local dates with their offset, enums by name; the CLI and ContractReverted say the English one."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from datetime import timedelta, timezone

from ledger.artifacts import ARTIFACTS_DIR
from ledger.display import format_amount, local_time, span, yuan
from ledger.errors import ContractReverted
from ledger.refusals import FALLBACK, SPECS, WORDS, in_words, sentence


def _declared_arguments() -> dict[str, set[str]]:
    """Custom error name -> its argument names, from the product contracts' ABIs."""
    found: dict[str, set[str]] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        if not path.name.startswith("_"):
            for item in json.loads(path.read_text(encoding="utf-8"))["abi"]:
                if item.get("type") == "error":
                    found[item["name"]] = {i["name"] for i in item["inputs"]}
    return found


def test_every_custom_error_of_a_product_abi_has_words() -> None:
    missing = sorted(_declared_arguments().keys() - WORDS.keys())
    assert not missing, f"add sentences to ledger/refusals/words.py for {missing}"


def test_each_sentence_names_only_its_errors_arguments() -> None:
    declared = _declared_arguments()
    for name, sentences in WORDS.items():
        assert name in declared, f"{name} is no custom error of a product contract"
        for text in sentences:
            fields = [(f, spec) for _, f, spec, _ in string.Formatter().parse(text) if f]
            assert {f for f, _ in fields} <= declared[name], (name, text)
            assert all(spec in SPECS for _, spec in fields if spec), (name, text)


def test_in_words() -> None:
    assert in_words("DataGrantNotActive", {"grantId": 7, "state": 2}) == "授权 #7 当前无效（已过期、撤销或冻结）。"
    assert in_words("DataGrantNotActive", {"grantId": 7, "state": 2}, "en").startswith("Grant #7 is not active")
    assert in_words("ERC20InsufficientBalance", {"sender": "0xab", "balance": 5, "needed": 900}) == (
        "余额不足：需要 9.00 元，现有 0.05 元。")
    assert in_words("SomethingNew", {}, "en") == FALLBACK[1].format(name="SomethingNew")
    assert in_words("DataGrantNotActive", {}, "en") == FALLBACK[1].format(name="DataGrantNotActive")  # args missing


def test_a_refusal_in_words_with_its_name_after_them() -> None:
    short = ContractReverted("ERC20InsufficientBalance", {"sender": "0xAb", "balance": 1000, "needed": 123456})
    assert short.message == (
        "The balance of 0xAb is 10.00 元, less than the 1,234.56 元 needed. (ERC20InsufficientBalance)"
    )
    locked = sentence("FundTimeLocked", {"projectId": 3, "unlocksAt": 1796529600, "nowAt": 1796443200})
    assert locked == (
        "Project #3 pays out from 2026-12-06 12:00 +08:00, not yet (now 2026-12-05 12:00 +08:00). (FundTimeLocked)"
    )
    assert sentence("FundProjectClosed", {"projectId": 7, "state": 5}) == (
        "Project #7 is cancelled, closed. (FundProjectClosed)"
    )
    assert sentence("CaseMissingRole", {"account": "0x1", "role": 7}) == (
        "Account 0x1 lacks the role sub district. (CaseMissingRole)"
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
