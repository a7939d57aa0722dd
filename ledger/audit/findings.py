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


#: Every rule the auditor checks, by id. Groups follow the issue's numbering:
#: code, state, fund, data, documents, index.
RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule(id="chain.identity", group="code", title="The chain id and genesis hash are the manifest's"),
        Rule(
            id="chain.checkpoint-mismatch",
            group="code",
            title="The chain holds every expected checkpoint block (--expect-block N:HASH)",
        ),
        Rule(
            id="chain.nodes-disagree",
            group="code",
            title="Every given node has the same block at the lowest common height and at the audited head",
        ),
        Rule(id="code.no-code", group="code", title="Every manifest address holds code"),
        Rule(
            id="code.runtime-mismatch",
            group="code",
            title="Runtime code equals the committed artifact (immutables masked, metadata compared)",
        ),
        Rule(
            id="code.immutable-mismatch",
            group="code",
            title="Immutable values in the code equal the manifest's constructor arguments",
        ),
        Rule(
            id="code.creation-mismatch",
            group="code",
            title="The deployment transaction ran the artifact's creation code with the manifest's arguments",
        ),
        Rule(
            id="code.deployer-mismatch",
            group="code",
            title="Each contract was created by the manifest's deployer in the stated transaction (to null, "
            "succeeded, the manifest's block and address)",
        ),
        Rule(
            id="code.wiring-mismatch",
            group="code",
            title="The contracts reference each other as deployed (the fund's registry and token, "
            "data sharing's and the token's registry)",
        ),
        Rule(
            id="code.source-hash-mismatch",
            group="code",
            title="The artifact's source hashes equal the files in contracts/",
        ),
        Rule(
            id="code.recompile-mismatch",
            group="code",
            title="A fresh compile of contracts/ with the committed settings gives the artifact",
        ),
        Rule(id="state.mismatch", group="state", title="Every contract view equals the state replayed from events"),
        Rule(
            id="state.replay-inconsistent",
            group="state",
            title="Events are consistent with each other (ids in sequence, references to known records)",
        ),
        Rule(
            id="membership.change-without-proposal",
            group="state",
            title="Every membership change after deployment came from an executed council proposal",
        ),
        Rule(
            id="membership.proposal-below-threshold",
            group="state",
            title="Every executed council proposal had the threshold of council approvals",
        ),
        Rule(
            id="fund.balance-invariant",
            group="fund",
            title="token.balanceOf(fund) == contributed - paid out - refunded + unattributed transfers, "
            "at every block where the fund's money moved",
        ),
        Rule(
            id="fund.unattributed-transfer",
            group="fund",
            title="Tokens that reached the fund outside contribute (a warning per transfer)",
        ),
        Rule(
            id="fund.payout-without-quorum",
            group="fund",
            title="Every payout's project was approved by a motion that reached quorum",
        ),
        Rule(id="fund.payout-time-locked", group="fund", title="Every payout came after its project's time lock"),
        Rule(id="fund.payout-exceeds-milestone", group="fund", title="No payout exceeds what remains of its milestone"),
        Rule(
            id="fund.payout-exceeds-available",
            group="fund",
            title="No payout exceeds the project's available money (earmarked + allocated - paid)",
        ),
        Rule(
            id="fund.payout-project-closed",
            group="fund",
            title="No payout to a rejected, cancelled or completed project",
        ),
        Rule(
            id="fund.payout-treasurer",
            group="fund",
            title="Every payout was made by a Treasurer who is not the beneficiary",
        ),
        Rule(
            id="fund.vote-invalid",
            group="fund",
            title="Every vote came from a FundCommittee member, once, never the proposer's or beneficiary's",
        ),
        Rule(
            id="fund.motion-decision",
            group="fund",
            title="Every motion was decided by the rule: by a vote only once no remaining eligible vote could "
            "change the outcome, otherwise at its deadline (quorum and more approvals than rejections)",
        ),
        Rule(id="fund.allocation-exceeds-pool", group="fund", title="No allocation exceeds the free general pool"),
        Rule(
            id="fund.refund-excess",
            group="fund",
            title="No refund exceeds what was owed (the unspent rest of an earmarked contribution, once)",
        ),
        Rule(
            id="fund.trace-mismatch",
            group="fund",
            title="Fund-flow tracing sums match (earmarked/general split, contributions = spent + refunded + unspent)",
        ),
        Rule(
            id="data.access-outside-grant",
            group="data",
            title="Every recorded access fell inside a grant that was active at that block",
        ),
        Rule(id="data.grant-without-approval", group="data", title="Every grant follows the owner's approval"),
        Rule(
            id="data.sensitive-single-approver",
            group="data",
            title="Every Sensitive/Secret grant had two distinct approvers (owner and data governance)",
        ),
        Rule(
            id="data.batch-root-mismatch",
            group="data",
            title="Every supplied Merkle batch file gives the anchored root, count and time window",
        ),
        Rule(
            id="data.batch-foreign-grant",
            group="data",
            title="Every record of a supplied batch file is under a grant on a dataset of the batch's anchoring member",
        ),
        Rule(
            id="data.content-aliased",
            group="data",
            title="No dataset names a content hash that another member registered first",
        ),
        Rule(
            id="data.renewal-without-governance",
            group="data",
            title="Every renewal of a Sensitive/Secret grant followed an independent DataGovernance approval",
        ),
        Rule(
            id="data.renewal-not-active",
            group="data",
            title="No grant was renewed (or its renewal asked for) while frozen, expired or revoked",
        ),
        Rule(id="documents.mismatch", group="documents", title="Each off-chain file matches its on-chain hash"),
        Rule(
            id="documents.missing",
            group="documents",
            title="Each on-chain reference has its own file (its slot, or one SHARED.json assigns to it)",
        ),
        Rule(
            id="documents.unmatched",
            group="documents",
            title="Files in the folder assigned to no on-chain record (by slot or SHARED.json)",
        ),
        Rule(
            id="documents.shared-invalid",
            group="documents",
            title="SHARED.json maps files in the folder to lists of references",
        ),
        Rule(
            id="index.row-added",
            group="index",
            title="The operator's index has no row that the chain lacks, and no event twice",
        ),
        Rule(id="index.row-dropped", group="index", title="The operator's index has every event of the chain"),
        Rule(
            id="index.row-altered",
            group="index",
            title="Every index row equals the chain's event (hashes and addresses spelled lower-case)",
        ),
        Rule(
            id="index.last-block-rewound",
            group="index",
            title="The index's last block was never moved back over indexed blocks (no rows or kept "
            "block hashes above it)",
        ),
        Rule(
            id="index.lag",
            group="index",
            title="Blocks and events between the index's last block and the audited head (lag, not tampering)",
        ),
    ]
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
