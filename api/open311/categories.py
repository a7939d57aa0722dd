"""What the Open311 services are called: a name and a description per case category, in Chinese
(the default) and English.

The categories themselves, and their service levels, are the chain's (``CaseDesk``: set by the
council); ``GET /open311/v2/services`` lists the categories that have a service level there now,
and takes their names from :data:`NAMES`. A category the council adds without a row here is still
served, named by its number (:func:`name_of`). To name one, add a row: the code is the category's
number on chain; ``group`` and ``keywords`` are GeoReport v2's fields of the same names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryName:
    code: int  # the category's number on chain (CaseDesk)
    group: str
    zh: str
    en: str
    zh_description: str
    en_description: str
    keywords: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def description(self, lang: str) -> str:
        return self.en_description if lang == "en" else self.zh_description


NAMES: dict[int, CategoryName] = {
    c.code: c
    for c in (
        # The four service levels every deployment starts with (ledger.cases.STANDARD_LEVELS).
        CategoryName(
            1, "emergency", "紧急事件", "Emergency",
            "危及人身或财产安全、需要立即处置的问题，如燃气泄漏、路面塌陷、井盖缺失。",
            "A danger to people or property that needs action now: a gas leak, a collapsed road, a lost manhole cover.",
            ("燃气", "塌陷", "井盖", "gas", "collapse", "manhole"),
        ),
        CategoryName(
            2, "utilities", "市政设施", "Utilities",
            "供水、供电、供暖、路灯等市政设施故障。",
            "A fault of water, power, heating, street lights or other public utilities.",
            ("停水", "停电", "路灯", "water", "power", "street light"),
        ),
        CategoryName(
            3, "general", "一般问题", "General",
            "环境卫生、占道经营、噪声扰民等一般性问题。",
            "Street cleaning, obstruction of the pavement, noise and other everyday problems.",
            ("卫生", "噪声", "占道", "cleaning", "noise"),
        ),
        CategoryName(
            4, "complex", "复杂问题", "Complex",
            "涉及多个部门、需要协调处置的问题。",
            "A problem several departments must work on together.",
            ("协调", "coordination"),
        ),
        # The demo's residents' reports (幸福里): served once the council gives them a service level.
        CategoryName(
            5, "sanitation", "垃圾满溢", "Overflowing bins",
            "垃圾桶或垃圾站满溢、未及时清运。",
            "Bins or a refuse point overflowing, not emptied in time.",
            ("垃圾", "清运", "bins", "refuse"),
        ),
        CategoryName(
            6, "fire_safety", "消防通道占用", "Blocked fire lane",
            "消防通道被车辆或杂物占用、堵塞。",
            "A fire lane blocked by vehicles or things left there.",
            ("消防", "通道", "fire lane"),
        ),
    )
}


def name_of(code: int, lang: str) -> str:
    """The category's name in ``lang`` (``zh-CN`` or ``en``); a category with no row is named by its number."""
    c = NAMES.get(code)
    if c is not None:
        return c.name(lang)
    return f"Category {code}" if lang == "en" else f"类别 {code}"


def describe(code: int, lang: str, ack_seconds: int, resolve_seconds: int) -> str:
    """The category's description with its service level on chain."""
    c = NAMES.get(code)
    text = c.description(lang) if c is not None else ""
    level = (
        f"Once a case is raised, the lead department acknowledges within {duration(ack_seconds, lang)} "
        f"and resolves within {duration(resolve_seconds, lang)}."
        if lang == "en"
        else f"立案后，牵头部门须在{duration(ack_seconds, lang)}内报到、{duration(resolve_seconds, lang)}内办结。"
    )
    return f"{text} {level}".strip() if lang == "en" else f"{text}{level}"


def duration(seconds: int, lang: str) -> str:
    """``seconds`` in the largest whole unit: days from two days on (a day is "24 hours", as
    service levels say it), else hours, else minutes."""
    units = ((86400, 2 * 86400, "天", "day"), (3600, 3600, "小时", "hour"), (60, 60, "分钟", "minute"))
    for unit, least, zh, en in units:
        if seconds >= least and seconds % unit == 0:
            n = seconds // unit
            return f"{n} {en}{'s' if n != 1 else ''}" if lang == "en" else f"{n}{zh}"
    return f"{seconds} s" if lang == "en" else f"{seconds}秒"
