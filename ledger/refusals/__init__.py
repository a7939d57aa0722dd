"""Refusals in words: each contract custom error as a sentence, in Simplified Chinese and English.

The API's problem+json names the custom error and its arguments (``api/problems.py``); the member
console, the CLI and the problem's ``detail`` say the sentence of :data:`WORDS` instead of
``ERC20InsufficientBalance(0x…, 1000, 30000)``: money in 元, chain times as local dates, enums by
name (:data:`SPECS`). :func:`in_words` gives the sentence in a language; :func:`sentence` is the
English one with the error's name after it, what :class:`ledger.errors.ContractReverted` says.
An error without its own words is told in the general words of :data:`FALLBACK`, naming it.
"""

from __future__ import annotations

import importlib
import string
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

from ledger.display import local_time, span, yuan
from ledger.refusals.words import WORDS

__all__ = ["FALLBACK", "LANGS", "SPECS", "WORDS", "in_words", "sentence"]

LANGS = ("zh-CN", "en")

#: The words for an error without its own sentence: (zh-CN, en).
FALLBACK = ("链上合约拒绝了此操作（{name}）。", "The contract refused this ({name}).")


def _enum(module: str, name: str) -> Callable[[Any], str]:
    def render(value: Any) -> str:
        enum: type[IntEnum] = getattr(importlib.import_module(module), name)  # at use: no import cycle
        try:
            return enum(int(value)).name.lower().replace("_", " ")
        except ValueError:
            return str(value)

    return render


def _hash(value: Any) -> str:
    text = "0x" + value.hex() if isinstance(value, bytes) else str(value)
    return text[:10] + "…" if len(text) > 14 else text


#: How an argument reads, by the format spec a sentence gives it.
SPECS: dict[str, Callable[[Any], str]] = {
    "money": lambda v: yuan(int(v)),
    "date": lambda v: local_time(int(v)),
    "span": lambda v: span(int(v)),
    "hash": _hash,
    "role": _enum("ledger.membership.roles", "Role"),
    "change": _enum("ledger.membership.roles", "ChangeKind"),
    "proposal": _enum("ledger.membership.roles", "ProposalState"),
    "project": _enum("ledger.fund.types", "ProjectState"),
    "motion": _enum("ledger.fund.types", "MotionState"),
    "contributor": _enum("ledger.fund.types", "ContributorKind"),
    "grant": _enum("ledger.data.records", "GrantState"),
    "request": _enum("ledger.data.records", "RequestState"),
    "classification": _enum("ledger.data.records", "Classification"),
    "case": _enum("ledger.cases.types", "CaseState"),
}


class _Words(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        render = SPECS.get(format_spec)
        if render is None:
            return str(super().format_field(value, format_spec))
        try:
            return render(value)
        except (TypeError, ValueError):
            return str(value)


_FORMATTER = _Words()


def _plain(v: object) -> object:
    return "0x" + v.hex() if isinstance(v, bytes) else v


def in_words(name: str, args: Mapping[str, object] | None = None, lang: str = "zh-CN") -> str:
    """The sentence for custom error ``name`` with its ``args``, in ``lang`` (zh-CN or en)."""
    i = 1 if lang == "en" else 0
    text = WORDS.get(name, FALLBACK)[i]
    values = {**{k: _plain(v) for k, v in (args or {}).items()}, "name": name}
    try:
        return _FORMATTER.format(text, **values)
    except (KeyError, IndexError, ValueError):  # an argument the sentence names is missing
        return FALLBACK[i].format(name=name)


def sentence(name: str, args: Mapping[str, Any]) -> str:
    """The refusal ``name(**args)`` in English words, its name after them in brackets: ``The balance
    of 0xAb… is 10.00 元, less than the 25.00 元 needed. (ERC20InsufficientBalance)``. An error
    without words (a test contract's, Solidity's ``Panic``) or whose arguments did not decode reads
    as its name and arguments: ``reverted with Name(arg=value, ...)``."""
    template = WORDS.get(name)
    if template is not None:
        try:
            return f"{_FORMATTER.format(template[1], **{k: _plain(v) for k, v in args.items()})} ({name})"
        except (KeyError, IndexError, ValueError):
            pass
    rendered = ", ".join(f"{k}={_plain(v)}" for k, v in args.items())
    return f"reverted with {name}({rendered})"
