"""Refusals in words: each contract custom error as a sentence, in Simplified Chinese and English.

The API's problem+json names the custom error and its arguments (``api/problems.py``); the member
console (and the CLI) show the sentence here instead of ``DataGrantNotActive(7, 2)``. A sentence
may use the error's arguments by name (``{grantId}``). An error without its own sentence is told
in the general words of :data:`FALLBACK`, naming it. Add a contract's errors here, once.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGS = ("zh-CN", "en")

#: error name -> (zh-CN, en)
WORDS: dict[str, tuple[str, str]] = {
    # ---------------------------------------------------------------- data sharing
    "DataMissingRole": ("此账户没有执行该操作所需的角色。", "This account does not hold the role this action needs."),
    "DataNotDatasetOwner": (
        "只有数据集 #{datasetId} 的所有者可以这样做。",
        "Only the owner of dataset #{datasetId} may do this.",
    ),
    "DataNotRequester": (
        "只有申请 #{requestId} 的申请方可以这样做。",
        "Only the requester of request #{requestId} may do this.",
    ),
    "DataUnknownDataset": ("没有数据集 #{datasetId}。", "There is no dataset #{datasetId}."),
    "DataUnknownRequest": ("没有申请 #{requestId}。", "There is no access request #{requestId}."),
    "DataUnknownGrant": ("没有授权 #{grantId}。", "There is no grant #{grantId}."),
    "DataUnknownBatch": ("没有批次 #{batchId}。", "There is no batch #{batchId}."),
    "DataUnknownMember": ("没有成员 #{memberId}。", "There is no member #{memberId}."),
    "DataInvalidTitle": ("标题长度须为 1 至 {max} 字节。", "The title must be 1 to {max} bytes long."),
    "DataZeroHash": ("哈希不能为空。", "A hash may not be zero."),
    "DataRequesterIsOwner": ("不能申请访问自己的数据集。", "A department cannot request access to its own dataset."),
    "DataInvalidDuration": ("期限无效：最长 {max} 秒。", "The duration is invalid: at most {max} seconds."),
    "DataInvalidRequestTtl": ("申请的有效期无效。", "The request's time to live is invalid."),
    "DataRequestNotOpen": (
        "申请 #{requestId} 已不在待处理状态。",
        "Request #{requestId} is no longer waiting for an answer.",
    ),
    "DataAlreadyApproved": (
        "此账户已经批准过申请 #{requestId}。",
        "This account has approved request #{requestId} already.",
    ),
    "DataGovernanceNotRequired": (
        "申请 #{requestId} 不需要数据管理部门的第二次审批。",
        "Request #{requestId} needs no second approval by data governance.",
    ),
    "DataSameApprover": ("第二次审批须由另一账户作出。", "The second approval must come from another account."),
    "DataApproverConflict": (
        "申请方或所有者不能作为数据管理部门审批自己的申请。",
        "The requester or the owner cannot give data governance's approval.",
    ),
    "DataGrantNotActive": (
        "授权 #{grantId} 当前无效（已过期、撤销或冻结）。",
        "Grant #{grantId} is not active (expired, revoked or frozen).",
    ),
    "DataGrantClosed": ("授权 #{grantId} 已关闭。", "Grant #{grantId} is closed."),
    "DataGrantFreezeUnchanged": (
        "授权 #{grantId} 已处于该冻结状态。",
        "Grant #{grantId} is in that freeze state already.",
    ),
    "DataMemberFreezeUnchanged": (
        "成员 #{memberId} 已处于该冻结状态。",
        "Member #{memberId} is in that freeze state already.",
    ),
    "DataGrantDatasetMismatch": (
        "授权 #{grantId} 不是数据集 #{datasetId} 的授权。",
        "Grant #{grantId} is not a grant on dataset #{datasetId}.",
    ),
    "DataEmptyBatch": ("批次为空。", "The batch is empty."),
    "DataInvalidBatchWindow": ("批次的时间窗口无效。", "The batch's time window is invalid."),
    "DataContentHashTaken": ("同样的内容已被登记过。", "The same content is registered already."),
    "DataGrantNotRenewable": ("授权 #{grantId} 不能续期。", "Grant #{grantId} cannot be renewed."),
    "DataNoRenewalPending": ("授权 #{grantId} 没有待批准的续期。", "Grant #{grantId} has no renewal waiting."),
    "DataRenewalMismatch": ("续期时长与待批准的不一致。", "The extension differs from the renewal waiting."),
    "DataRenewalApproverConflict": (
        "授权的双方不能批准其续期。",
        "Neither party to the grant may approve its renewal.",
    ),
    "DataRenewalSameApprover": ("续期须由另一账户批准。", "The renewal must be approved by another account."),
    "DataZeroAttempts": ("次数不能为零。", "The number of attempts may not be zero."),
    "DataInvalidFieldCount": ("字段数量无效。", "The number of fields is invalid."),
    "DataInvalidFieldMask": ("所选字段无效。", "The fields chosen are invalid."),
    "DataUnknownPurpose": (
        "用途代码 {purposeCode} 不在公布的目录中。",
        "Purpose code {purposeCode} is not in the published list.",
    ),
    "DataFieldsOutOfScope": (
        "所请求的字段超出授权 #{grantId} 的范围。",
        "The fields asked for are outside grant #{grantId}'s scope.",
    ),
    "DataAccessLimitReached": (
        "授权 #{grantId} 的访问次数已用完（最多 {max} 次）。",
        "Grant #{grantId}'s accesses are used up (at most {max}).",
    ),
    "DataTermsNotNarrower": ("新条件必须比原条件更窄。", "The new terms must be narrower than the old ones."),
    "DataNotGrantParty": (
        "只有授权 #{grantId} 的双方可以这样做。",
        "Only the parties to grant #{grantId} may do this.",
    ),
    # ---------------------------------------------------------------- tokens
    "ERC20InsufficientBalance": (
        "余额不足：需要 {needed}，现有 {balance}（单位：分）。",
        "The balance is short: {needed} needed, {balance} held (in fen).",
    ),
    "ERC20InsufficientAllowance": (
        "授权额度不足：需要 {needed}，现有 {allowance}（单位：分）。",
        "The allowance is short: {needed} needed, {allowance} allowed (in fen).",
    ),
}

#: The words for an error without its own sentence: (zh-CN, en).
FALLBACK = ("链上合约拒绝了此操作（{name}）。", "The contract refused this ({name}).")


def in_words(name: str, args: Mapping[str, object] | None = None, lang: str = "zh-CN") -> str:
    """The sentence for custom error ``name`` with its ``args``, in ``lang`` (zh-CN or en)."""
    i = 1 if lang == "en" else 0
    text = WORDS.get(name, FALLBACK)[i]
    values = {**{k: _plain(v) for k, v in (args or {}).items()}, "name": name}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):  # an argument the sentence names is missing
        return FALLBACK[i].format(name=name)


def _plain(v: object) -> object:
    return "0x" + v.hex() if isinstance(v, bytes) else v
