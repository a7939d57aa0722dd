"""The auditor's data-sharing rules of issue 14: Merkle batch records on the anchoring member's own
datasets' grants, Active at each record's own time (item 4, on Ganache with a real batch file), and,
from the events alone, renewals of Sensitive/Secret grants only through an independent
DataGovernance approval and never of a frozen grant (item 2), no content aliasing (item 1)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak, to_checksum_address

from ledger.audit import AuditOptions, run_audit
from ledger.audit.collect import Collector
from ledger.audit.replay.data import DataReplay
from ledger.audit.replay.membership import Member, MembershipReplay
from ledger.data import DataSharing
from ledger.events import Event
from ledger.manifest import Manifest
from ledger.membership import Role
from ledger.merkle import AccessRecord, MerkleTree, batch_document
from tests.conftest import MEMBER_IDS, Deployment
from tests.ledger.data_helpers import new_dataset, new_grant

DAY = 24 * 3600


def _tick(led: Any, seconds: int) -> None:
    led.rpc("evm_increaseTime", [seconds])
    led.rpc("evm_mine", [])


@pytest.mark.ganache
def test_batch_records_must_be_the_anchorers_own_and_active_at_their_time(
    deployment: Deployment, tmp_path: Path
) -> None:
    led = deployment.ledger()
    ds = DataSharing(led)
    s = deployment.signers

    def grant(did: int, owner: str) -> int:
        return new_grant(ds, s["c1"], s[owner], did, 30 * DAY)

    mine, theirs = new_dataset(ds, s["dept_a"]), new_dataset(ds, s["dept_b"])
    g_mine, g_theirs, g_frozen = grant(mine, "dept_a"), grant(theirs, "dept_b"), grant(mine, "dept_a")
    # real narrowings (the grantee sets a limit, the owner an earlier end) and an access within them
    ds.narrow(s["c1"], g_mine, 0b1, 5, ds.grant(g_mine).expires_at)
    ds.narrow(s["dept_a"], g_mine, 0b1, 5, ds.grant(g_mine).expires_at - DAY)
    ds.record_access(s["dept_a"], g_mine, keccak(text="q"), 3, 0b1)
    _tick(led, 100)
    frozen_at = led.w3.eth.get_block(ds.freeze_grant(s["c3"], g_frozen).block_number)["timestamp"]
    _tick(led, 100)
    unfrozen_at = led.w3.eth.get_block(ds.unfreeze_grant(s["c3"], g_frozen).block_number)["timestamp"]
    _tick(led, 10)
    q = keccak(text="q")
    records = [
        AccessRecord(g_mine, q, 3, frozen_at + 50),  # fine
        AccessRecord(g_theirs, q, 3, frozen_at + 50),  # a grant on 城管's dataset, in 卫健委's batch
        AccessRecord(g_frozen, q, 3, frozen_at + 50),  # while the grant was frozen (unfrozen since)
        AccessRecord(g_frozen, q, 3, unfrozen_at + 5),  # fine again
        AccessRecord(g_mine, q, 3, ds.grant(g_mine).granted_at - 1),  # before the grant existed
    ]
    tree = MerkleTree.of_records(records)
    times = [r.timestamp for r in records]
    bid, _ = ds.anchor_batch(s["dept_a"], tree.root, len(records), min(times), max(times))
    assert ds.batch(bid).anchorer_id == MEMBER_IDS["dept_a"]
    batch = tmp_path / f"batch-{bid}.json"
    batch.write_text(json.dumps(batch_document(records, bid)))
    m = Manifest.load(deployment.manifest_path)
    report = run_audit(led, m, AuditOptions(batches=[batch]))
    mine_findings = [f for f in report.findings if f.records.get("batch") == bid]
    assert not [f for f in report.findings if f.rule in ("data.terms-widened", "data.access-outside-terms")]
    assert sorted((f.rule, f.records["record"]) for f in mine_findings) == [
        ("data.access-outside-grant", 2),
        ("data.access-outside-grant", 4),
        ("data.batch-foreign-grant", 1),
    ], [f.message for f in mine_findings]
    foreign = next(f for f in mine_findings if f.rule == "data.batch-foreign-grant")
    assert foreign.records["dataset_owner"] == MEMBER_IDS["dept_b"] and foreign.records["anchorer"] == MEMBER_IDS[
        "dept_a"
    ]
    assert "frozen" in next(f.message for f in mine_findings if f.records["record"] == 2)


# ------------------------------------------------------------------ the rules from events alone

OWNER, GRANTEE, GOV = 1, 2, 3
ACCOUNTS = {OWNER: "0x" + "a1" * 20, GRANTEE: "0x" + "b2" * 20, GOV: "0x" + "c3" * 20}
T0 = 1_700_000_000


class Chain:
    """Synthetic DataSharing events (as an older or a faulty deployment could emit them) fed to the replay."""

    def __init__(self) -> None:
        self.out = Collector()
        reg = MembershipReplay(self.out, None)
        roles = {OWNER: Role.DEPARTMENT, GRANTEE: Role.DEPARTMENT, GOV: Role.DATA_GOVERNANCE}
        for mid, role in roles.items():
            account = to_checksum_address(ACCOUNTS[mid])
            reg.members[mid] = Member(mid, f"m{mid}", 0, 1 << int(role), T0, accounts=[account])
            reg.member_of[account.lower()] = mid
        self.data = DataReplay(self.out, reg)
        self.block = 0

    def emit(self, name: str, t: int, tx: str | None = None, **args: Any) -> None:
        self.block += 1
        tx = tx or "0x" + secrets.token_hex(32)
        self.data.on_event(Event(contract="DataSharing", name=name, args=args, block_number=self.block,
                                 block_hash="0x" + "00" * 32, tx_hash=tx, log_index=self.block, time=t,
                                 address="0x", tx_index=0))

    def rules(self) -> list[str]:
        return sorted(f.rule for f in self.out.findings)

    def sensitive_grant(self, content: str = "0x" + "11" * 32) -> int:
        """Dataset 1 of OWNER (Sensitive), request 1 by GRANTEE, both approvals, grant 1 (expires T0+1000)."""
        acc = {k: to_checksum_address(v) for k, v in ACCOUNTS.items()}
        self.emit("DatasetRegistered", T0, datasetId=1, ownerId=OWNER, title="t", classification=2,
                  metadataHash="0x" + "01" * 32, schemaHash="0x" + "02" * 32, contentHash=content, fieldCount=4)
        self.emit("AccessRequested", T0, requestId=1, datasetId=1, requesterId=GRANTEE, purposeCode=1,
                  purposeHash="0x" + "03" * 32, fieldMask=0b0111, rowFilterHash="0x" + "00" * 32, duration=1000,
                  maxAccesses=2, noOnwardSharing=True, expiresAt=T0 + 3600)
        self.emit("RequestApprovedByOwner", T0, requestId=1, ownerId=OWNER, approver=acc[OWNER])
        self.emit("RequestApprovedByGovernance", T0, requestId=1, governanceId=GOV, approver=acc[GOV])
        self.emit("GrantCreated", T0, grantId=1, requestId=1, datasetId=1, granteeId=GRANTEE, fieldMask=0b0111,
                  rowFilterHash="0x" + "00" * 32, schemaHash="0x" + "02" * 32, maxAccesses=2, noOnwardSharing=True,
                  expiresAt=T0 + 1000)
        assert self.rules() == []
        return 1


def test_replay_flags_a_sensitive_renewal_without_data_governance() -> None:
    c = Chain()
    c.sensitive_grant()
    c.emit("GrantRenewed", T0 + 10, grantId=1, oldExpiresAt=T0 + 1000, newExpiresAt=T0 + 2000)  # the owner alone
    assert c.rules() == ["data.renewal-without-governance"]


def test_replay_accepts_an_independent_renewal_approval_and_flags_a_dependent_one() -> None:
    c = Chain()
    c.sensitive_grant()
    owner, gov, grantee = (to_checksum_address(ACCOUNTS[m]) for m in (OWNER, GOV, GRANTEE))
    c.emit("GrantRenewalRequested", T0 + 10, grantId=1, ownerId=OWNER, account=owner, extension=500)
    tx = "0x" + "ab" * 32
    c.emit("GrantRenewalApproved", T0 + 20, tx, grantId=1, governanceId=GOV, approver=gov, extension=500)
    c.emit("GrantRenewed", T0 + 20, tx, grantId=1, oldExpiresAt=T0 + 1000, newExpiresAt=T0 + 1500)
    assert c.rules() == []
    assert c.data.grants[1].expires_at == T0 + 1500 and 1 not in c.data.renewals
    # approved by the grantee (no DataGovernance role, and not independent): flagged
    c.emit("GrantRenewalRequested", T0 + 30, grantId=1, ownerId=OWNER, account=owner, extension=100)
    tx = "0x" + "cd" * 32
    c.emit("GrantRenewalApproved", T0 + 40, tx, grantId=1, governanceId=GRANTEE, approver=grantee, extension=100)
    c.emit("GrantRenewed", T0 + 40, tx, grantId=1, oldExpiresAt=T0 + 1500, newExpiresAt=T0 + 1600)
    assert c.rules() == ["data.renewal-without-governance"]


def test_replay_flags_the_renewal_of_a_frozen_grant() -> None:
    c = Chain()
    c.sensitive_grant()
    gov = to_checksum_address(ACCOUNTS[GOV])
    c.emit("MemberFrozen", T0 + 5, memberId=GRANTEE, account=gov)
    c.emit("GrantRenewalRequested", T0 + 10, grantId=1, ownerId=OWNER, account=ACCOUNTS[OWNER], extension=500)
    assert c.rules() == ["data.renewal-not-active"]
    # and the grant's history: frozen from T0+5 (its grantee), active before
    g = c.data.grants[1]
    assert (c.data.state_at(g, T0 + 4), c.data.state_at(g, T0 + 5), c.data.state_at(g, T0 - 1)) == (0, 3, None)


def test_replay_flags_a_dataset_naming_another_members_content() -> None:
    c = Chain()
    content = "0x" + "11" * 32
    c.sensitive_grant(content)
    c.emit("DatasetRegistered", T0 + 1, datasetId=2, ownerId=GRANTEE, title="copy", classification=0,
           metadataHash="0x" + "05" * 32, schemaHash="0x" + "02" * 32, contentHash=content, fieldCount=1)
    c.emit("DatasetRegistered", T0 + 2, datasetId=3, ownerId=OWNER, title="again", classification=0,
           metadataHash="0x" + "05" * 32, schemaHash="0x" + "02" * 32, contentHash=content, fieldCount=1)  # its own
    assert c.rules() == ["data.content-aliased"]
    [f] = c.out.findings
    assert f.records["dataset"] == 2 and f.records["first_owner"] == OWNER


def _access(c: Chain, t: int, seq: int, mask: int) -> None:
    c.emit("AccessRecorded", t, grantId=1, datasetId=1, granteeId=GRANTEE, seq=seq, queryHash="0x" + "09" * 32,
           rowCount=1, at=t, fieldMask=mask)


def test_replay_flags_accesses_outside_the_fields_or_over_the_count() -> None:
    c = Chain()
    c.sensitive_grant()  # fields 0b0111, at most 2 accesses
    _access(c, T0 + 1, 1, 0b0101)  # a subset: fine
    assert c.rules() == []
    _access(c, T0 + 2, 2, 0b1000)  # a field outside the grant
    _access(c, T0 + 3, 3, 0b0001)  # the third of two
    assert c.rules() == ["data.access-outside-terms"] * 2
    assert [f.records["fields"] for f in c.out.findings] == [0b1000, 0b0001]


def test_replay_checks_narrowings_and_judges_accesses_by_the_narrowed_terms() -> None:
    c = Chain()
    c.sensitive_grant()
    grantee = to_checksum_address(ACCOUNTS[GRANTEE])
    c.emit("GrantNarrowed", T0 + 5, grantId=1, account=grantee, fieldMask=0b0011, maxAccesses=2, expiresAt=T0 + 900)
    assert c.rules() == [] and c.data.grants[1].field_mask == 0b0011
    _access(c, T0 + 6, 1, 0b0100)  # narrowed away
    assert c.rules() == ["data.access-outside-terms"]
    c.emit("GrantNarrowed", T0 + 7, grantId=1, account=grantee, fieldMask=0b0111, maxAccesses=2, expiresAt=T0 + 900)
    c.emit("GrantNarrowed", T0 + 8, grantId=1, account=grantee, fieldMask=0b0001, maxAccesses=0, expiresAt=T0 + 900)
    c.emit("GrantNarrowed", T0 + 9, grantId=1, account=grantee, fieldMask=0b0001, maxAccesses=1, expiresAt=T0 + 950)
    assert c.rules() == ["data.access-outside-terms"] + ["data.terms-widened"] * 3
    gov = to_checksum_address(ACCOUNTS[GOV])  # data governance is neither the owner nor the grantee
    c.emit("GrantNarrowed", T0 + 10, grantId=1, account=gov, fieldMask=0b0001, maxAccesses=1, expiresAt=T0 + 900)
    assert c.rules() == ["data.access-outside-terms"] + ["data.terms-widened"] * 4
    assert c.out.findings[-1].records["member"] == GOV
