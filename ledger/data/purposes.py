"""The published purpose vocabulary of data-sharing requests: code -> Chinese and English names.

The contract accepts codes 1..``MAX_PURPOSE_CODE`` (``IDataSharing.MAX_PURPOSE_CODE``; a test
holds the two equal); docs/data-sharing.md publishes the same table. A request also carries
the hash of its own purpose statement: the code says which kind of use, the statement which use.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import ValidationFailed


@dataclass(frozen=True)
class Purpose:
    code: int
    zh: str
    en: str


PURPOSES: dict[int, Purpose] = {
    p.code: p
    for p in (
        Purpose(1, "公共服务", "public service delivery"),
        Purpose(2, "监督检查", "inspection and enforcement"),
        Purpose(3, "应急管理", "emergency management"),
        Purpose(4, "统计分析", "statistics and analysis"),
        Purpose(5, "规划决策", "planning and policy-making"),
        Purpose(6, "科学研究", "research"),
        Purpose(7, "社会救助", "social assistance"),
        Purpose(8, "医疗卫生", "health care"),
        Purpose(9, "城市管理", "urban management"),
        Purpose(10, "基层治理", "community governance"),
        Purpose(11, "审计监督", "audit"),
        Purpose(12, "政务公开", "open government information"),
    )
}

MAX_PURPOSE_CODE = max(PURPOSES)


def purpose(code: int) -> Purpose:
    """The vocabulary's entry for ``code``.

    Raises:
        ValidationFailed: ``code`` is not in the vocabulary.
    """
    found = PURPOSES.get(code)
    if found is None:
        raise ValidationFailed("purpose_code", f"{code} is not a purpose code (1..{MAX_PURPOSE_CODE})")
    return found


def purpose_name(code: int) -> str:
    """``"公共服务 (public service delivery)"``, or ``"code N"`` for a code outside the vocabulary
    (an event the auditor reports still has to be shown)."""
    found = PURPOSES.get(code)
    return f"{found.zh} ({found.en})" if found else f"code {code}"
