"""Refusals in words (ledger/refusals.py): each sentence fits its custom error's arguments, and
every data-sharing error a product contract declares has one, in both languages."""

from __future__ import annotations

import json
import string

from ledger.artifacts import ARTIFACTS_DIR
from ledger.refusals import FALLBACK, WORDS, in_words


def _declared_arguments() -> dict[str, set[str]]:
    """Custom error name -> its argument names, from the product contracts' ABIs."""
    found: dict[str, set[str]] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        if not path.name.startswith("_"):
            for item in json.loads(path.read_text(encoding="utf-8"))["abi"]:
                if item.get("type") == "error":
                    found[item["name"]] = {i["name"] for i in item["inputs"]}
    return found


def test_every_data_sharing_error_has_words() -> None:
    declared = _declared_arguments()
    missing = sorted(n for n in declared if n.startswith("Data") and n not in WORDS)
    assert not missing, f"add sentences to ledger/refusals.py for {missing}"


def test_each_sentence_names_only_its_errors_arguments() -> None:
    declared = _declared_arguments()
    for name, sentences in WORDS.items():
        assert name in declared, f"{name} is no custom error of a product contract"
        for text in sentences:
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert used <= declared[name], (name, text)


def test_in_words() -> None:
    assert in_words("DataGrantNotActive", {"grantId": 7, "state": 2}) == "授权 #7 当前无效（已过期、撤销或冻结）。"
    assert in_words("DataGrantNotActive", {"grantId": 7, "state": 2}, "en").startswith("Grant #7 is not active")
    assert in_words("ERC20InsufficientBalance", {"sender": "0xab", "balance": 5, "needed": 9}, "en") == (
        "The balance is short: 9 needed, 5 held (in fen).")
    assert in_words("SomethingNew", {}, "en") == FALLBACK[1].format(name="SomethingNew")
    assert in_words("DataGrantNotActive", {}, "en") == FALLBACK[1].format(name="DataGrantNotActive")  # args missing
