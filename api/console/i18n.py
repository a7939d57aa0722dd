"""The console's strings, zh-CN (the default) and English: merged into the portal's table
(``api/portal/i18n.py``), whose test checks that both languages have the same keys."""

from __future__ import annotations

from ledger.membership import Role

_ROLES_ZH = {
    "council": "理事会", "department": "部门", "data_governance": "数据管理部门", "fund_committee": "基金委员会",
    "treasurer": "财务", "auditor": "审计", "contributor": "捐助方", "sub_district": "街道", "district": "区",
    "channel": "受理渠道",
}
_ROLES_EN = {
    "council": "Council", "department": "Department", "data_governance": "Data governance",
    "fund_committee": "Fund committee", "treasurer": "Treasurer", "auditor": "Auditor", "contributor": "Contributor",
    "sub_district": "Sub-district", "district": "District", "channel": "Reports channel",
}
assert set(_ROLES_ZH) == {r.name.lower() for r in Role} == set(_ROLES_EN)

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "console.site": "社区共治账本 · 成员工作台",
        "console.nav": "工作台导航",
        "console.footer": "工作台中的每项操作都以您的 API 密钥对应的账户签名并记录在链上。",
        "console.sign_in": "登录",
        "console.sign_in.lead": "使用本机构的 API 密钥登录成员工作台。",
        "console.sign_in.note": "密钥只用于在服务器上建立会话，不会保存在浏览器中。",
        "console.sign_in.expired": "会话已过期，请重新登录。",
        "console.sign_in.ended": "会话已结束：API 密钥已被吊销，或账户已不属于在册成员。",
        "console.sign_in.signed_out": "您已退出登录。",
        "console.api_key": "API 密钥",
        "console.sign_out": "退出",
        "console.home": "工作台",
        "console.home.none": "您的角色在工作台中暂无页面；请使用 cogov 命令行。",
        "console.refused": "操作被拒绝",
        "console.back": "返回",
        "console.tx": "交易进度",
        "console.tx.state": "状态",
        "console.tx.pending": "已发送，等待出块",
        "console.tx.mined": "已出块，等待确认",
        "console.tx.confirmed": "已确认",
        "console.tx.failed": "失败",
        "console.tx.confirmations": "确认数",
        "console.nav.data": "数据共享",
        "console.nav.governance": "数据治理",
    } | {f"console.role.{k}": v for k, v in _ROLES_ZH.items()},
    "en": {
        "console.site": "CoGov Ledger · Member console",
        "console.nav": "Console navigation",
        "console.footer": "Every action here is signed with your API key's account and recorded on the chain.",
        "console.sign_in": "Sign in",
        "console.sign_in.lead": "Sign in to the member console with your organisation's API key.",
        "console.sign_in.note": "The key only opens a session on the server; it is not kept in the browser.",
        "console.sign_in.expired": "Your session expired: please sign in again.",
        "console.sign_in.ended": "Your session ended: the API key was revoked, or its account is no longer a "
                                 "member's.",
        "console.sign_in.signed_out": "You have signed out.",
        "console.api_key": "API key",
        "console.sign_out": "Sign out",
        "console.home": "Console",
        "console.home.none": "Your role has no console pages yet; use the cogov command line.",
        "console.refused": "Refused",
        "console.back": "Back",
        "console.tx": "Transaction",
        "console.tx.state": "State",
        "console.tx.pending": "Sent, waiting for a block",
        "console.tx.mined": "In a block, waiting for confirmations",
        "console.tx.confirmed": "Confirmed",
        "console.tx.failed": "Failed",
        "console.tx.confirmations": "Confirmations",
        "console.nav.data": "Data sharing",
        "console.nav.governance": "Data governance",
    } | {f"console.role.{k}": v for k, v in _ROLES_EN.items()},
}
