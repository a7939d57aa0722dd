"""What the auditor finds: rules, findings and the report (frozen pydantic models).

Every finding names the rule it breaks (``"fund.payout-without-quorum"``), a
severity, where on the chain it is (block, transaction) and the records
involved, so a reader can check it without trusting the auditor either.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """``error``: a rule is violated (the audit fails). ``warning``: something to look at
    (e.g. an off-chain file is missing). ``info``: noted, not a problem."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    group: str
    title: str


#: Every rule the auditor checks: group -> (rule id, title). Groups follow the issue's numbering:
#: code, state, fund, data, cases, documents, index.
_RULE_TABLE: dict[str, list[tuple[str, str]]] = {
    "code": [
        ("chain.identity", "The chain id and genesis hash are the manifest's"),
        ("chain.checkpoint-mismatch", "The chain holds every expected checkpoint block (--expect-block N:HASH)"),
        (
            "chain.nodes-disagree",
            "Every given node has the same block at the lowest common height and at the audited head",
        ),
        ("code.no-code", "Every manifest address holds code"),
        ("code.runtime-mismatch", "Runtime code equals the committed artifact (immutables masked, metadata compared)"),
        ("code.immutable-mismatch", "Immutable values in the code equal the manifest's constructor arguments"),
        (
            "code.creation-mismatch",
            "The deployment transaction ran the artifact's creation code with the manifest's arguments",
        ),
        (
            "code.deployer-mismatch",
            "Each contract was created by the manifest's deployer in the stated transaction (to null, "
            "succeeded, the manifest's block and address)",
        ),
        (
            "code.wiring-mismatch",
            "The contracts reference each other as deployed (the fund's registry and token, data sharing's "
            "and the token's registry)",
        ),
        ("code.source-hash-mismatch", "The artifact's source hashes equal the files in contracts/"),
        ("code.recompile-mismatch", "A fresh compile of contracts/ with the committed settings gives the artifact"),
    ],
    "state": [
        ("state.mismatch", "Every contract view equals the state replayed from events"),
        (
            "state.replay-inconsistent",
            "Events are consistent with each other (ids in sequence, references to known records)",
        ),
        (
            "membership.change-without-proposal",
            "Every membership change after deployment came from an executed council proposal",
        ),
        (
            "membership.proposal-below-threshold",
            "Every executed council proposal had the threshold of council approvals",
        ),
    ],
    "fund": [
        (
            "fund.balance-invariant",
            "token.balanceOf(fund) == contributed - paid out - refunded + unattributed transfers, at every "
            "block where the fund's money moved",
        ),
        ("fund.unattributed-transfer", "Tokens that reached the fund outside contribute (a warning per transfer)"),
        ("fund.payout-without-quorum", "Every payout's project was approved by a motion that reached quorum"),
        ("fund.payout-time-locked", "Every payout came after its project's time lock"),
        ("fund.payout-exceeds-milestone", "No payout exceeds what remains of its milestone"),
        (
            "fund.payout-exceeds-available",
            "No payout exceeds the project's available money (earmarked + allocated - paid)",
        ),
        ("fund.payout-project-closed", "No payout to a rejected, cancelled or completed project"),
        ("fund.payout-treasurer", "Every payout was made by a Treasurer who is not the beneficiary"),
        (
            "fund.vote-invalid",
            "Every vote came from a FundCommittee member, once, never the proposer's or beneficiary's",
        ),
        (
            "fund.motion-decision",
            "Every motion was decided by the rule: by a vote only once no remaining eligible vote could "
            "change the outcome, otherwise at its deadline (quorum and more approvals than rejections)",
        ),
        ("fund.allocation-exceeds-pool", "No allocation exceeds the free general pool"),
        ("fund.refund-excess", "No refund exceeds what was owed (the unspent rest of an earmarked contribution, once)"),
        (
            "fund.trace-mismatch",
            "Fund-flow tracing sums match (earmarked/general split, contributions = spent + refunded + unspent)",
        ),
    ],
    "data": [
        ("data.access-outside-grant", "Every recorded access fell inside a grant that was active at that block"),
        ("data.grant-without-approval", "Every grant follows the owner's approval"),
        (
            "data.sensitive-single-approver",
            "Every Sensitive/Secret grant had two distinct approvers (owner and data governance)",
        ),
        ("data.batch-root-mismatch", "Every supplied Merkle batch file gives the anchored root, count and time window"),
        (
            "data.batch-foreign-grant",
            "Every record of a supplied batch file is under a grant on a dataset of the batch's anchoring member",
        ),
        (
            "data.log-checkpoint-mismatch",
            "Every checkpoint anchored for a supplied access log is the log's root at that size (so consistent "
            "with the previous one)",
        ),
        (
            "data.log-entry-outside-grant",
            "Every access in a supplied access log fell inside a grant on a dataset of the log's member, to the "
            "entry's member, active at the entry's time",
        ),
        (
            "data.log-entry-late",
            "Every entry of a supplied access log is under a checkpoint anchored within the MMD of its time (or not "
            "due yet)",
        ),
        (
            "data.log-receipt-invalid",
            "Every supplied access-log receipt verifies against the chain with a proof from the supplied log (a "
            "leaf missing from the anchored tree is withholding)",
        ),
        ("data.content-aliased", "No dataset names a content hash that another member registered first"),
        (
            "data.renewal-without-governance",
            "Every renewal of a Sensitive/Secret grant followed an independent DataGovernance approval",
        ),
        ("data.renewal-not-active", "No grant was renewed (or its renewal asked for) while frozen, expired or revoked"),
        (
            "data.access-outside-terms",
            "Every recorded access served a non-empty subset of its grant's fields and stayed within its maximum count",
        ),
        ("data.terms-widened", "No grant's terms were widened without a new request (a narrowing only narrows)"),
    ],
    "cases": [
        (
            "cases.actor-not-named",
            "Every acknowledgement, answer and send-back came from an active account of a department named in the "
            "case's current dispatch",
        ),
        (
            "cases.deadline-mismatch",
            "Every dispatch's deadlines are its time plus the category's service level in force at that block; "
            "a reopening restarts the resolve deadline with the duration fixed at dispatch; late flags are right",
        ),
        ("cases.transition-skipped", "Every case event is legal from the state before it (no transition skipped)"),
        (
            "cases.dispatch-unauthorised",
            "Every case was raised by a SubDistrict member and re-dispatched by its raiser (sent back) or the "
            "District (escalated), naming Department members (or the district itself as lead)",
        ),
        ("cases.evaluation-not-raiser", "Every evaluation came from an active account of the case's raiser"),
        (
            "cases.escalation-invalid",
            "Every escalation was the raiser's, of a case overdue at that block, or caused by its send-back",
        ),
        (
            "cases.satisfaction-invalid",
            "Every satisfaction record came from a Channel member (the case's channel), within the window after "
            "the closing, once per closing; only the first dissatisfaction reopened the case",
        ),
        (
            "cases.service-level-unapproved",
            "Every service-level change came at deployment or from a council proposal that reached the threshold",
        ),
        (
            "cases.metrics-mismatch",
            "The case metrics the API serves (--api-url) equal the auditor's own by the published rule "
            "(docs/cases.md), at the block and time the API says",
        ),
    ],
    "documents": [
        ("documents.mismatch", "Each off-chain file matches its on-chain hash"),
        ("documents.missing", "Each on-chain reference has its own file (its slot, or one SHARED.json assigns to it)"),
        ("documents.unmatched", "Files in the folder assigned to no on-chain record (by slot or SHARED.json)"),
        ("documents.shared-invalid", "SHARED.json maps files in the folder to lists of references"),
    ],
    "index": [
        ("index.row-added", "The operator's index has no row that the chain lacks, and no event twice"),
        ("index.row-dropped", "The operator's index has every event of the chain"),
        ("index.row-altered", "Every index row equals the chain's event (hashes and addresses spelled lower-case)"),
        (
            "index.last-block-rewound",
            "The index's last block was never moved back over indexed blocks (no rows or kept block hashes above it)",
        ),
        ("index.lag", "Blocks and events between the index's last block and the audited head (lag, not tampering)"),
    ],
}
#: Every rule the auditor checks, by id.
RULES: dict[str, Rule] = {
    rule_id: Rule(id=rule_id, group=group, title=title)
    for group, rows in _RULE_TABLE.items()
    for rule_id, title in rows
}


class Finding(BaseModel):
    """One violation (or note) of one rule."""

    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity = Severity.ERROR
    message: str
    contract: str | None = None
    block: int | None = None
    tx_hash: str | None = None
    records: dict[str, Any] = Field(default_factory=dict)


class ContractCode(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    address: str
    deployed_block: int
    code_matches: bool
    runtime_keccak: str | None
    source_hashes: dict[str, str]


class NodeHead(BaseModel):
    """One node of several the audit was given, as compared with the others."""

    model_config = ConfigDict(frozen=True)

    url: str
    head_block: int | None
    #: the lowest height every answering node has, and this node's hash there
    common_block: int | None
    common_hash: str | None
    #: this node's hash of the audited head (None when it does not have that block)
    audited_head_hash: str | None
    error: str | None = None


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    group: str
    title: str
    checked: int
    errors: int
    warnings: int


class ScanStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    from_block: int
    to_block: int
    blocks: int
    events: int
    seconds: float
    events_per_second: float
    blocks_per_second: float
    #: seconds spent in each phase of the run (connect, code, sources, scan, replay, state, ...)
    phases: dict[str, float] = {}


class AuditReport(BaseModel):
    """The machine report (``--json``); the HTML report renders the same data."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    generated_at: str
    ok: bool
    rpc_url: str
    chain_id: int
    genesis_hash: str
    head_block: int
    #: the hash of the audited head block: compare it with a checkpoint published elsewhere
    head_hash: str = ""
    compiler: dict[str, Any]
    contracts: list[ContractCode]
    scan: ScanStats
    rules: list[RuleResult]
    findings: list[Finding]
    #: every node given (several RPC URLs), compared at the lowest common height
    nodes: list[NodeHead] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    charts: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]
