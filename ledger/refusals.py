"""A contract's refusal in words: one sentence for every custom error of every product contract.

:data:`WORDS` holds a template per custom error's name; its fields are the error's arguments, a
format spec saying how each reads for people (``money``: 元, ``date``: a local date, ``span``: a
length of time, ``role``, ``hash`` and the names of the contracts' enums). :func:`sentence` fills
one in; :class:`ledger.errors.ContractReverted` says it, followed by the error's name in
brackets for whoever looks it up. The CLI prints it, the API's problem+json gives it as its
``detail`` and the console shows it: one table for all three. A test
(tests/ledger/test_refusals.py) walks every custom error of every product ABI and fails when one
has no words, or when a template names an argument the error does not have.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

from ledger.display import local_time, span, yuan


def _enum(module: str, name: str) -> Callable[[int], str]:
    def render(value: int) -> str:
        import importlib

        enum: type[IntEnum] = getattr(importlib.import_module(module), name)
        try:
            return enum(int(value)).name.lower().replace("_", " ")
        except ValueError:
            return str(value)

    return render


def _hash(value: Any) -> str:
    text = "0x" + value.hex() if isinstance(value, bytes) else str(value)
    return text[:10] + "…" if len(text) > 14 else text


#: How an argument reads, by the template's format spec.
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

_DEADLINE = "its deadlines (acknowledge by {ackDeadline:date}, resolve by {resolveDeadline:date})"

#: The words of each custom error (the contracts' own, OpenZeppelin's and Solidity's built-ins).
WORDS: dict[str, str] = {
    # --- the membership registry (the council)
    "RegistryAccountNotOfMember": "account {account} is not one of member {memberId}'s accounts",
    "RegistryAccountTaken": "account {account} already belongs to member {memberId}",
    "RegistryAlreadyApproved": "member {memberId} has already approved proposal {proposalId}",
    "RegistryCouncilBelowThreshold": "the council would have {councilSize} members, fewer than its threshold of "
    "{threshold}",
    "RegistryEmptyName": "a member needs a name",
    "RegistryInvalidChange": "a proposal of this kind ({kind:change}) cannot carry that change",
    "RegistryInvalidLifetime": "a proposal lifetime of {lifetime:span} is outside the allowed range",
    "RegistryInvalidThreshold": "a threshold of {threshold} is impossible with {councilSize} council members",
    "RegistryLastAccount": "member {memberId}'s last account cannot be removed",
    "RegistryMemberInactive": "member {memberId} has been removed and can no longer act",
    "RegistryNodeTaken": "node {nodeKey:hash} is already registered by member {memberId}",
    "RegistryNotCouncil": "account {account} is not on the council",
    "RegistryNotProposer": "only the council member who made proposal {proposalId} may cancel it, not {account}",
    "RegistryProposalNotOpen": "proposal {proposalId} is {state:proposal}, no longer open",
    "RegistryRoleUnchanged": "member {memberId} already is as asked for role {role:role}",
    "RegistryThresholdNotMet": "proposal {proposalId} has {approvals} of the {threshold} approvals it needs",
    "RegistryUnknownMember": "there is no member {memberId}",
    "RegistryUnknownNode": "member {memberId} has no node {nodeKey:hash}",
    "RegistryUnknownProposal": "there is no proposal {proposalId}",
    "RegistryZeroAccount": "an account cannot be the zero address",
    # --- data sharing
    "DataAccessLimitReached": "grant {grantId} has been used all {max} times it allows",
    "DataAlreadyApproved": "{approver} has already approved request {requestId}",
    "DataApproverConflict": "member {memberId} is a party to request {requestId} and may not approve it",
    "DataContentHashTaken": "this content ({contentHash:hash}) is already registered by member {ownerId}",
    "DataEmptyBatch": "an access-log batch needs at least one entry",
    "DataFieldsOutOfScope": "the fields asked for are outside grant {grantId}'s scope",
    "DataGovernanceNotRequired": "request {requestId} is for a {classification:classification} dataset, which "
    "needs no data-governance approval",
    "DataGrantClosed": "grant {grantId} is {state:grant} and cannot change",
    "DataGrantDatasetMismatch": "grant {grantId} is not a grant of dataset {datasetId}",
    "DataGrantFreezeUnchanged": "grant {grantId} already is as asked (frozen: {frozen})",
    "DataGrantNotActive": "grant {grantId} is {state:grant}, not active",
    "DataGrantNotRenewable": "grant {grantId} is {state:grant} and cannot be renewed",
    "DataInvalidBatchWindow": "a batch's window from {fromTime:date} to {toTime:date} is invalid",
    "DataInvalidDuration": "a duration of {duration:span} is outside the allowed range (at most {max:span})",
    "DataInvalidFieldCount": "a schema of {fieldCount} fields is outside the allowed range",
    "DataInvalidFieldMask": "the fields asked for are not fields of the dataset's {fieldCount}-field schema",
    "DataInvalidRequestTtl": "a request that stays open {ttl:span} is outside the allowed range",
    "DataInvalidTitle": "a title of {length} bytes is outside the allowed length (at most {max})",
    "DataMemberFreezeUnchanged": "member {memberId} already is as asked (frozen: {frozen})",
    "DataMissingRole": "account {account} lacks the role {role:role}",
    "DataNoRenewalPending": "grant {grantId} has no renewal waiting",
    "DataNotDatasetOwner": "account {account} does not own dataset {datasetId}",
    "DataNotGrantParty": "account {account} is neither the owner nor the holder of grant {grantId}",
    "DataNotRequester": "account {account} did not make request {requestId}",
    "DataRenewalApproverConflict": "member {memberId} is a party to grant {grantId}'s renewal and may not approve it",
    "DataRenewalMismatch": "grant {grantId}'s renewal waiting is for {pending:span}, not {extension:span}",
    "DataRenewalSameApprover": "{account} has already approved grant {grantId}'s renewal; another approver is needed",
    "DataRequestNotOpen": "request {requestId} is {state:request}, no longer open",
    "DataRequesterIsOwner": "member {memberId} owns dataset {datasetId} and cannot request access to it",
    "DataSameApprover": "{account} has already approved request {requestId}; the second approval needs another "
    "approver",
    "DataTermsNotNarrower": "the new terms of grant {grantId} must be narrower than its present ones",
    "DataUnknownBatch": "there is no access-log batch {batchId}",
    "DataUnknownDataset": "there is no dataset {datasetId}",
    "DataUnknownGrant": "there is no grant {grantId}",
    "DataUnknownMember": "there is no member {memberId}",
    "DataUnknownPurpose": "purpose code {purposeCode} is not in the published vocabulary",
    "DataUnknownRequest": "there is no request {requestId}",
    "DataZeroAttempts": "a refused-attempts record needs at least one attempt",
    "DataZeroHash": "a hash cannot be zero",
    # --- the access log's checkpoints
    "CheckpointAlreadyCosigned": "witness {witnessId} has already cosigned log {logId} at size {treeSize}",
    "CheckpointMissingRole": "account {account} lacks the role {role:role}",
    "CheckpointOwnLog": "a member cannot witness its own access log {logId}",
    "CheckpointRootMismatch": "log {logId}'s root at size {treeSize} is {anchored:hash}, not {rootHash:hash}",
    "CheckpointSizeNotIncreasing": "log {logId}'s checkpoint of size {treeSize} is not past the latest, "
    "{latestSize}",
    "CheckpointTimestampBeforeLatest": "a checkpoint made {timestamp:date} is older than the latest, "
    "{latestTimestamp:date}",
    "CheckpointTimestampInFuture": "a checkpoint made {timestamp:date} is later than the block, {blockTime:date}",
    "CheckpointUnknown": "log {logId} has no checkpoint of size {treeSize}",
    "CheckpointZeroRoot": "a checkpoint's root cannot be zero",
    # --- the community credit (the settlement token)
    "CreditDepositAlreadyRecorded": "deposit {depositRef:hash} has already been minted",
    "CreditNotTreasurer": "account {account} is not the treasurer",
    "CreditRedemptionAlreadyRecorded": "redemption {redemptionRef:hash} has already been recorded",
    "CreditZeroAmount": "the amount must be more than zero",
    "CreditZeroReference": "a deposit or redemption needs its bank reference",
    "ERC20InsufficientAllowance": "the fund may take {allowance:money} from this account, less than the "
    "{needed:money} needed",
    "ERC20InsufficientBalance": "the balance of {sender} is {balance:money}, less than the {needed:money} needed",
    "ERC20InvalidApprover": "{approver} cannot approve spending",
    "ERC20InvalidReceiver": "{receiver} cannot receive credit",
    "ERC20InvalidSender": "{sender} cannot send credit",
    "ERC20InvalidSpender": "{spender} cannot be allowed to spend",
    "SafeERC20FailedOperation": "the token {token} refused the transfer",
    "ReentrancyGuardReentrantCall": "a call back into the contract during a payout was refused",
    # --- the co-governance fund
    "FundAlreadyRefunded": "receipt {receiptId} has already been refunded",
    "FundAlreadyVoted": "member {memberId} has already voted on motion {motionId}",
    "FundBeneficiaryCannotVote": "member {memberId} is project {projectId}'s beneficiary and may not vote on it",
    "FundBeneficiaryNotMember": "the beneficiary {beneficiary} is not an active member",
    "FundBudgetMismatch": "the milestones add up to {milestoneSum:money}, not the budget of {budget:money}",
    "FundContributorKindRefused": "account {account} ({kind:contributor}) may not contribute this way",
    "FundExceedsAvailable": "project {projectId} has {available:money} available, less than {amount:money}",
    "FundExceedsMilestone": "milestone {index} of project {projectId} has {remaining:money} left to pay, less than "
    "{amount:money}",
    "FundInsufficientPool": "the general pool has {free:money} unallocated, less than the {requested:money} asked",
    "FundInvalidMilestoneCount": "a project of {count} milestones is outside the allowed range (at most {max})",
    "FundInvalidQuorum": "a quorum of {quorum} is impossible",
    "FundInvalidVotingPeriod": "a voting period of {votingPeriod:span} is outside the allowed range",
    "FundMotionNotOpen": "motion {motionId} is {state:motion}, no longer open for votes",
    "FundMotionPending": "project {projectId} already has motion {motionId} open",
    "FundNotCommittee": "account {account} is not on the fund committee",
    "FundNotContributor": "account {account} did not make contribution {receiptId}",
    "FundNotMember": "account {account} is not an active member's",
    "FundNotProposer": "account {account} may not propose projects",
    "FundNotRefundable": "receipt {receiptId} cannot be refunded: its project was not cancelled",
    "FundNotTreasurer": "account {account} is not the treasurer",
    "FundNothingToRefund": "receipt {receiptId} has nothing left to refund",
    "FundProjectClosed": "project {projectId} is {state:project}, closed",
    "FundProjectNotActive": "project {projectId} is {state:project}, not active",
    "FundProjectNotApproved": "project {projectId} is {state:project}, not approved",
    "FundProjectNotOpenForFunding": "project {projectId} is {state:project} and takes no contributions",
    "FundProjectStillOpen": "project {projectId} is still {state:project}",
    "FundProposerCannotVote": "member {memberId} proposed project {projectId} and may not vote on it",
    "FundTimeLocked": "project {projectId} pays out from {unlocksAt:date}, not yet (now {nowAt:date})",
    "FundTransferShortfall": "the fund received {received:money}, not the {expected:money} sent",
    "FundTreasurerIsBeneficiary": "member {memberId} is project {projectId}'s beneficiary and may not pay it",
    "FundUnknownMilestone": "project {projectId} has no milestone {index}",
    "FundUnknownMotion": "there is no motion {motionId}",
    "FundUnknownProject": "there is no project {projectId}",
    "FundUnknownReceipt": "there is no receipt {receiptId}",
    "FundZeroAddress": "an address cannot be zero",
    "FundZeroAmount": "the amount must be more than zero",
    "FundZeroBeneficiary": "a project needs a beneficiary",
    "FundZeroMilestone": "milestone {index} needs an amount",
    "FundZeroReference": "a payout needs the hash of its invoice or receipt",
    # --- cases (吹哨报到)
    "CaseAlreadyAcknowledged": "member {memberId} has already acknowledged (报到) case {caseId}",
    "CaseAlreadyAnswered": "member {memberId} has already answered case {caseId}",
    "CaseAlreadyApproved": "member {memberId} has already approved proposal {proposalId}",
    "CaseDuplicateDepartment": "department {memberId} is named twice",
    "CaseInvalidServiceLevel": "category {category}'s deadlines ({ackSeconds:span} to acknowledge, "
    "{resolveSeconds:span} to resolve) are invalid",
    "CaseInvalidWindow": "a window of {window:span} is outside the allowed range",
    "CaseLimitReached": "case {caseId} has reached its limit of rounds",
    "CaseMissingRole": "account {account} lacks the role {role:role}",
    "CaseNotAcknowledged": "member {memberId} has not acknowledged (报到) case {caseId} yet",
    "CaseNotChannel": "account {account} is not the channel that took case {caseId}'s report",
    "CaseNotDepartment": "member {memberId} is not a department",
    "CaseNotNamed": "account {account} is not a department named on case {caseId}",
    "CaseNotOverdue": "case {caseId} is not overdue by " + _DEADLINE + "; only its raiser may escalate it",
    "CaseNotRaiser": "account {account} did not raise case {caseId}",
    "CaseProposalNotOpen": "proposal {proposalId} is no longer open",
    "CaseSatisfactionRecorded": "case {caseId}'s satisfaction is already recorded",
    "CaseSatisfactionWindowClosed": "case {caseId}'s satisfaction could be recorded until {closedUntil:date}",
    "CaseSelfResponsible": "member {memberId} cannot send case {caseId} back naming itself",
    "CaseTooManyDepartments": "{count} departments named, more than the {max} allowed",
    "CaseUnknownCase": "there is no case {caseId}",
    "CaseUnknownCategory": "there is no case category {category}",
    "CaseUnknownMember": "there is no member {memberId}",
    "CaseUnknownProposal": "there is no proposal {proposalId}",
    "CaseWrongState": "case {caseId} is {state:case}, which does not allow this",
    "CaseZeroAddress": "an address cannot be zero",
    "CaseZeroArea": "a case needs its area",
    "CaseZeroReference": "a case needs its report's reference",
    # --- not custom errors of ours (the names ledger.abi.reverts gives the rest)
    "Error": "the contract refused: {message}",
    "Panic": "the contract failed (panic code {code})",
    "UnknownError": "the contract refused with an error no artifact declares ({selector})",
    "UnknownRevert": "the contract refused without saying why",
    "TransactionReverted": "the transaction was mined but reverted",
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


def sentence(error_name: str, args: Mapping[str, Any]) -> str:
    """The refusal ``error_name(**args)`` in words, its name after them in brackets: ``the balance of
    0xAb… is 10.00 元, less than the 25.00 元 needed (ERC20InsufficientBalance)``. An error without
    words (a test contract's) reads as before: ``reverted with Name(arg=value, ...)``."""
    template = WORDS.get(error_name)
    if template is not None:
        try:
            return f"{_FORMATTER.format(template, **args)} ({error_name})"
        except (KeyError, IndexError):  # a payload that did not decode: its name is all there is
            pass
    rendered = ", ".join(f"{k}={'0x' + v.hex() if isinstance(v, bytes) else v}" for k, v in args.items())
    return f"reverted with {error_name}({rendered})"
