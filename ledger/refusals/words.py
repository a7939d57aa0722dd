"""The words of each custom error of the product contracts: error name -> (zh-CN, en).

A sentence may use the error's arguments by name (``{grantId}``) and say how one reads for people
with a format spec (``{needed:money}``: :data:`ledger.refusals.SPECS`). Add a contract's errors
here, once: tests/ledger/test_refusals.py fails on a product custom error without words.
"""

from __future__ import annotations

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
    # ---------------------------------------------------------------- the membership registry (the council)
    "RegistryAccountNotOfMember": (
        "账户 {account} 不是成员 #{memberId} 的账户。",
        "Account {account} is not one of member #{memberId}'s accounts.",
    ),
    "RegistryAccountTaken": (
        "账户 {account} 已属于成员 #{memberId}。",
        "Account {account} already belongs to member #{memberId}.",
    ),
    "RegistryAlreadyApproved": (
        "成员 #{memberId} 已经批准过提案 #{proposalId}。",
        "Member #{memberId} has already approved proposal #{proposalId}.",
    ),
    "RegistryCouncilBelowThreshold": (
        "理事会将只剩 {councilSize} 名成员，少于门槛 {threshold}。",
        "The council would have {councilSize} members, fewer than its threshold of {threshold}.",
    ),
    "RegistryEmptyName": ("成员须有名称。", "A member needs a name."),
    "RegistryInvalidChange": (
        "此类提案不能携带该变更。",
        "A proposal of this kind ({kind:change}) cannot carry that change.",
    ),
    "RegistryInvalidLifetime": (
        "提案有效期 {lifetime:span} 超出允许范围。",
        "A proposal lifetime of {lifetime:span} is outside the allowed range.",
    ),
    "RegistryInvalidThreshold": (
        "理事会有 {councilSize} 名成员，门槛 {threshold} 无法达到。",
        "A threshold of {threshold} is impossible with {councilSize} council members.",
    ),
    "RegistryLastAccount": (
        "不能移除成员 #{memberId} 的最后一个账户。",
        "Member #{memberId}'s last account cannot be removed.",
    ),
    "RegistryMemberInactive": (
        "成员 #{memberId} 已被移除，不能再操作。",
        "Member #{memberId} has been removed and can no longer act.",
    ),
    "RegistryNodeTaken": (
        "节点 {nodeKey:hash} 已由成员 #{memberId} 登记。",
        "Node {nodeKey:hash} is already registered by member #{memberId}.",
    ),
    "RegistryNotCouncil": ("账户 {account} 不是理事会成员。", "Account {account} is not on the council."),
    "RegistryNotProposer": (
        "只有提出提案 #{proposalId} 的理事会成员可以撤销它。",
        "Only the council member who made proposal #{proposalId} may cancel it, not {account}.",
    ),
    "RegistryProposalNotOpen": (
        "提案 #{proposalId} 已不再开放。",
        "Proposal #{proposalId} is {state:proposal}, no longer open.",
    ),
    "RegistryRoleUnchanged": (
        "成员 #{memberId} 的角色已是所要求的状态。",
        "Member #{memberId} already is as asked for role {role:role}.",
    ),
    "RegistryThresholdNotMet": (
        "提案 #{proposalId} 已有 {approvals} 个批准，需要 {threshold} 个。",
        "Proposal #{proposalId} has {approvals} of the {threshold} approvals it needs.",
    ),
    "RegistryUnknownMember": ("没有成员 #{memberId}。", "There is no member #{memberId}."),
    "RegistryUnknownNode": (
        "成员 #{memberId} 没有节点 {nodeKey:hash}。",
        "Member #{memberId} has no node {nodeKey:hash}.",
    ),
    "RegistryUnknownProposal": ("没有提案 #{proposalId}。", "There is no proposal #{proposalId}."),
    "RegistryZeroAccount": ("账户不能是零地址。", "An account cannot be the zero address."),
    # ---------------------------------------------------------------- the access log's checkpoints
    "CheckpointAlreadyCosigned": (
        "见证方 #{witnessId} 已为日志 #{logId} 在大小 {treeSize} 处联署。",
        "Witness #{witnessId} has already cosigned log #{logId} at size {treeSize}.",
    ),
    "CheckpointMissingRole": ("账户 {account} 没有所需的角色。", "Account {account} lacks the role {role:role}."),
    "CheckpointOwnLog": (
        "成员不能见证自己的访问日志 #{logId}。",
        "A member cannot witness its own access log #{logId}.",
    ),
    "CheckpointRootMismatch": (
        "日志 #{logId} 在大小 {treeSize} 处的根是 {anchored:hash}，不是 {rootHash:hash}。",
        "Log #{logId}'s root at size {treeSize} is {anchored:hash}, not {rootHash:hash}.",
    ),
    "CheckpointSizeNotIncreasing": (
        "日志 #{logId} 的检查点大小 {treeSize} 未超过最新的 {latestSize}。",
        "Log #{logId}'s checkpoint of size {treeSize} is not past the latest, {latestSize}.",
    ),
    "CheckpointTimestampBeforeLatest": (
        "检查点时间 {timestamp:date} 早于最新的 {latestTimestamp:date}。",
        "A checkpoint made {timestamp:date} is older than the latest, {latestTimestamp:date}.",
    ),
    "CheckpointTimestampInFuture": (
        "检查点时间 {timestamp:date} 晚于区块时间 {blockTime:date}。",
        "A checkpoint made {timestamp:date} is later than the block, {blockTime:date}.",
    ),
    "CheckpointUnknown": (
        "日志 #{logId} 没有大小为 {treeSize} 的检查点。",
        "Log #{logId} has no checkpoint of size {treeSize}.",
    ),
    "CheckpointZeroRoot": ("检查点的根不能为零。", "A checkpoint's root cannot be zero."),
    # ---------------------------------------------------------------- the community credit and the token
    "CreditDepositAlreadyRecorded": (
        "存款 {depositRef:hash} 已经铸造过。",
        "Deposit {depositRef:hash} has already been minted.",
    ),
    "CreditNotTreasurer": ("账户 {account} 不是司库。", "Account {account} is not the treasurer."),
    "CreditRedemptionAlreadyRecorded": (
        "赎回 {redemptionRef:hash} 已经记录过。",
        "Redemption {redemptionRef:hash} has already been recorded.",
    ),
    "CreditZeroAmount": ("金额须大于零。", "The amount must be more than zero."),
    "CreditZeroReference": ("存款或赎回须有银行流水号。", "A deposit or redemption needs its bank reference."),
    "ERC20InsufficientAllowance": (
        "授权额度不足：需要 {needed:money}，基金只可动用 {allowance:money}。",
        "The fund may take {allowance:money} from this account, less than the {needed:money} needed.",
    ),
    "ERC20InsufficientBalance": (
        "余额不足：需要 {needed:money}，现有 {balance:money}。",
        "The balance of {sender} is {balance:money}, less than the {needed:money} needed.",
    ),
    "ERC20InvalidApprover": ("{approver} 不能授权支出。", "{approver} cannot approve spending."),
    "ERC20InvalidReceiver": ("{receiver} 不能接收积分。", "{receiver} cannot receive credit."),
    "ERC20InvalidSender": ("{sender} 不能发送积分。", "{sender} cannot send credit."),
    "ERC20InvalidSpender": ("{spender} 不能被授权支出。", "{spender} cannot be allowed to spend."),
    "SafeERC20FailedOperation": ("代币 {token} 拒绝了这笔转账。", "The token {token} refused the transfer."),
    "ReentrancyGuardReentrantCall": (
        "拨付过程中对合约的重入调用被拒绝。",
        "A call back into the contract during a payout was refused.",
    ),
    # ---------------------------------------------------------------- the co-governance fund
    "FundAlreadyRefunded": ("收据 #{receiptId} 已经退款。", "Receipt #{receiptId} has already been refunded."),
    "FundAlreadyVoted": (
        "成员 #{memberId} 已对动议 #{motionId} 投过票。",
        "Member #{memberId} has already voted on motion #{motionId}.",
    ),
    "FundBeneficiaryCannotVote": (
        "成员 #{memberId} 是项目 #{projectId} 的受益方，不能对其投票。",
        "Member #{memberId} is project #{projectId}'s beneficiary and may not vote on it.",
    ),
    "FundBeneficiaryNotMember": (
        "受益方 {beneficiary} 不是有效成员。",
        "The beneficiary {beneficiary} is not an active member.",
    ),
    "FundBudgetMismatch": (
        "各里程碑合计 {milestoneSum:money}，与预算 {budget:money} 不符。",
        "The milestones add up to {milestoneSum:money}, not the budget of {budget:money}.",
    ),
    "FundContributorKindRefused": (
        "账户 {account} 不能以这种方式捐助。",
        "Account {account} ({kind:contributor}) may not contribute this way.",
    ),
    "FundExceedsAvailable": (
        "项目 #{projectId} 可用 {available:money}，少于 {amount:money}。",
        "Project #{projectId} has {available:money} available, less than {amount:money}.",
    ),
    "FundExceedsMilestone": (
        "项目 #{projectId} 的里程碑 {index} 尚余 {remaining:money} 可付，少于 {amount:money}。",
        "Milestone {index} of project #{projectId} has {remaining:money} left to pay, less than {amount:money}.",
    ),
    "FundAllocationExceedsBudget": (
        "向公共池申请的 {poolAllocation:money} 超过项目预算 {budget:money}。",
        "The {poolAllocation:money} asked of the general pool exceeds the project's budget of {budget:money}.",
    ),
    "FundInsufficientPool": (
        "公共池未分配余额 {free:money}，少于申请的 {requested:money}。",
        "The general pool has {free:money} unallocated, less than the {requested:money} asked.",
    ),
    "FundInvalidMilestoneCount": (
        "{count} 个里程碑超出允许范围（至多 {max} 个）。",
        "A project of {count} milestones is outside the allowed range (at most {max}).",
    ),
    "FundInvalidQuorum": ("法定人数 {quorum} 无法达到。", "A quorum of {quorum} is impossible."),
    "FundInvalidVotingPeriod": (
        "投票期 {votingPeriod:span} 超出允许范围。",
        "A voting period of {votingPeriod:span} is outside the allowed range.",
    ),
    "FundMotionNotOpen": (
        "动议 #{motionId} 已不再接受投票。",
        "Motion #{motionId} is {state:motion}, no longer open for votes.",
    ),
    "FundMotionPending": (
        "项目 #{projectId} 已有未决动议 #{motionId}。",
        "Project #{projectId} already has motion #{motionId} open.",
    ),
    "FundNotCommittee": ("账户 {account} 不是基金委员会成员。", "Account {account} is not on the fund committee."),
    "FundNotContributor": (
        "账户 {account} 不是捐助 #{receiptId} 的捐助方。",
        "Account {account} did not make contribution #{receiptId}.",
    ),
    "FundNotMember": ("账户 {account} 不属于有效成员。", "Account {account} is not an active member's."),
    "FundNotProposer": ("账户 {account} 不能提出项目。", "Account {account} may not propose projects."),
    "FundNotRefundable": (
        "收据 #{receiptId} 不能退款：其项目未被取消。",
        "Receipt #{receiptId} cannot be refunded: its project was not cancelled.",
    ),
    "FundNotTreasurer": ("账户 {account} 不是司库。", "Account {account} is not the treasurer."),
    "FundNothingToRefund": ("收据 #{receiptId} 已无可退金额。", "Receipt #{receiptId} has nothing left to refund."),
    "FundProjectClosed": ("项目 #{projectId} 已关闭。", "Project #{projectId} is {state:project}, closed."),
    "FundProjectNotActive": (
        "项目 #{projectId} 未处于执行中。",
        "Project #{projectId} is {state:project}, not active.",
    ),
    "FundProjectNotApproved": (
        "项目 #{projectId} 尚未获批。",
        "Project #{projectId} is {state:project}, not approved.",
    ),
    "FundProjectNotOpenForFunding": (
        "项目 #{projectId} 不再接受捐助。",
        "Project #{projectId} is {state:project} and takes no contributions.",
    ),
    "FundProjectStillOpen": ("项目 #{projectId} 仍在进行中。", "Project #{projectId} is still {state:project}."),
    "FundProposerCannotVote": (
        "成员 #{memberId} 提出了项目 #{projectId}，不能对其投票。",
        "Member #{memberId} proposed project #{projectId} and may not vote on it.",
    ),
    "FundTimeLocked": (
        "项目 #{projectId} 自 {unlocksAt:date} 起方可拨付（现在是 {nowAt:date}）。",
        "Project #{projectId} pays out from {unlocksAt:date}, not yet (now {nowAt:date}).",
    ),
    "FundTransferShortfall": (
        "基金实收 {received:money}，而不是发送的 {expected:money}。",
        "The fund received {received:money}, not the {expected:money} sent.",
    ),
    "FundTreasurerIsBeneficiary": (
        "成员 #{memberId} 是项目 #{projectId} 的受益方，不能为其拨付。",
        "Member #{memberId} is project #{projectId}'s beneficiary and may not pay it.",
    ),
    "FundUnknownMilestone": (
        "项目 #{projectId} 没有里程碑 {index}。",
        "Project #{projectId} has no milestone {index}.",
    ),
    "FundUnknownMotion": ("没有动议 #{motionId}。", "There is no motion #{motionId}."),
    "FundUnknownProject": ("没有项目 #{projectId}。", "There is no project #{projectId}."),
    "FundUnknownReceipt": ("没有收据 #{receiptId}。", "There is no receipt #{receiptId}."),
    "FundZeroAddress": ("地址不能为零。", "An address cannot be zero."),
    "FundZeroAmount": ("金额须大于零。", "The amount must be more than zero."),
    "FundZeroBeneficiary": ("项目须有受益方。", "A project needs a beneficiary."),
    "FundZeroMilestone": ("里程碑 {index} 须有金额。", "Milestone {index} needs an amount."),
    "FundZeroReference": ("拨付须附发票或收据的哈希。", "A payout needs the hash of its invoice or receipt."),
    # ---------------------------------------------------------------- cases (吹哨报到)
    "CaseAlreadyAcknowledged": (
        "成员 #{memberId} 已对案件 #{caseId} 报到。",
        "Member #{memberId} has already acknowledged (报到) case #{caseId}.",
    ),
    "CaseAlreadyAnswered": (
        "成员 #{memberId} 已答复案件 #{caseId}。",
        "Member #{memberId} has already answered case #{caseId}.",
    ),
    "CaseAlreadyApproved": (
        "成员 #{memberId} 已经批准过提案 #{proposalId}。",
        "Member #{memberId} has already approved proposal #{proposalId}.",
    ),
    "CaseDuplicateDepartment": ("部门 #{memberId} 被重复指定。", "Department #{memberId} is named twice."),
    "CaseInvalidServiceLevel": (
        "类别 {category} 的时限（报到 {ackSeconds:span}，办结 {resolveSeconds:span}）无效。",
        "Category {category}'s deadlines ({ackSeconds:span} to acknowledge,"
        " {resolveSeconds:span} to resolve) are invalid.",
    ),
    "CaseInvalidWindow": (
        "时间窗口 {window:span} 超出允许范围。",
        "A window of {window:span} is outside the allowed range.",
    ),
    "CaseLimitReached": ("案件 #{caseId} 已达轮次上限。", "Case #{caseId} has reached its limit of rounds."),
    "CaseMissingRole": ("账户 {account} 没有所需的角色。", "Account {account} lacks the role {role:role}."),
    "CaseNotAcknowledged": (
        "成员 #{memberId} 尚未对案件 #{caseId} 报到。",
        "Member #{memberId} has not acknowledged (报到) case #{caseId} yet.",
    ),
    "CaseNotChannel": (
        "账户 {account} 不是受理案件 #{caseId} 诉求的渠道。",
        "Account {account} is not the channel that took case #{caseId}'s report.",
    ),
    "CaseNotDepartment": ("成员 #{memberId} 不是部门。", "Member #{memberId} is not a department."),
    "CaseNotNamed": (
        "账户 {account} 不是案件 #{caseId} 指定的部门。",
        "Account {account} is not a department named on case #{caseId}.",
    ),
    "CaseNotOverdue": (
        "案件 #{caseId} 未超时（报到时限 {ackDeadline:date}，办结时限 {resolveDeadline:date}），只有发起方可以上报。",
        "Case #{caseId} is not overdue by its deadlines (acknowledge by {ackDeadline:date}, resolve by"
        " {resolveDeadline:date}); only its raiser may escalate it.",
    ),
    "CaseNotRaiser": (
        "账户 {account} 不是案件 #{caseId} 的发起方。",
        "Account {account} did not raise case #{caseId}.",
    ),
    "CaseProposalNotOpen": ("提案 #{proposalId} 已不再开放。", "Proposal #{proposalId} is no longer open."),
    "CaseSatisfactionRecorded": (
        "案件 #{caseId} 的满意度已经记录。",
        "Case #{caseId}'s satisfaction is already recorded.",
    ),
    "CaseSatisfactionWindowClosed": (
        "案件 #{caseId} 的满意度只能在 {closedUntil:date} 之前记录。",
        "Case #{caseId}'s satisfaction could be recorded until {closedUntil:date}.",
    ),
    "CaseSelfResponsible": (
        "成员 #{memberId} 退回案件 #{caseId} 时不能指定自己。",
        "Member #{memberId} cannot send case #{caseId} back naming itself.",
    ),
    "CaseTooManyDepartments": (
        "指定了 {count} 个部门，多于允许的 {max} 个。",
        "{count} departments named, more than the {max} allowed.",
    ),
    "CaseUnknownCase": ("没有案件 #{caseId}。", "There is no case #{caseId}."),
    "CaseUnknownCategory": ("没有案件类别 {category}。", "There is no case category {category}."),
    "CaseUnknownMember": ("没有成员 #{memberId}。", "There is no member #{memberId}."),
    "CaseUnknownProposal": ("没有提案 #{proposalId}。", "There is no proposal #{proposalId}."),
    "CaseWrongState": (
        "案件 #{caseId} 当前状态不允许此操作。",
        "Case #{caseId} is {state:case}, which does not allow this.",
    ),
    "CaseZeroAddress": ("地址不能为零。", "An address cannot be zero."),
    "CaseZeroArea": ("案件须有区域代码。", "A case needs its area."),
    "CaseZeroReference": ("案件须有诉求编号。", "A case needs its report's reference."),
}
