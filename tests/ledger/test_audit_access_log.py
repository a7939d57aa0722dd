"""The auditor's access-log rules, each made to fire by a dishonest gateway on Ganache.

The test plays 城管 (dept_b)'s gateway with the library's own pieces (its log, ``log_entry``,
``sign_receipt``, the checkpoint wrapper): it hands out receipts, withholds one entry from its log
before anchoring (caught from the grantee's receipt), logs an access under a revoked grant, then
rewrites an anchored entry (the anchored root no longer matches) and anchors an entry an hour after
its time, long after its MMD ran out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from ledger.audit import AuditOptions, run_audit
from ledger.audit.findings import Finding
from ledger.data import DataSharing
from ledger.data.checkpoints import AccessCheckpoints
from ledger.gateway.access_log import log_entry
from ledger.manifest import Manifest
from ledger.translog import TransparencyLog
from ledger.translog.receipt import sign_receipt
from tests.conftest import MEMBER_IDS, Deployment
from tests.ledger.data_helpers import new_dataset, new_grant
from tests.reliability.env import deploy_private

pytestmark = pytest.mark.ganache

LOG = MEMBER_IDS["dept_b"]
RULES = ("data.log-checkpoint-mismatch", "data.log-entry-outside-grant", "data.log-entry-late",
         "data.log-receipt-invalid")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A chain of its own: the test anchors a member's log from nothing and moves chain time by an hour."""
    d = deploy_private(tmp_path_factory.mktemp("audit-log"))
    yield d
    d.ganache.stop()


def _write(directory: Path, entries: list[bytes]) -> TransparencyLog:
    log = TransparencyLog(directory)
    for e in entries:
        log.append(e)
    return log


def _findings(deployment: Deployment, **options: Any) -> list[Finding]:
    report = run_audit(deployment.ledger(), Manifest.load(deployment.manifest_path), AuditOptions(**options))
    assert all(r.checked for r in report.rules if r.id in RULES[:3]), report.rules
    return [f for f in report.findings if f.rule in RULES and f.records.get("log") == LOG]


def test_a_withheld_entry_a_foreign_access_a_rewritten_log_and_a_late_anchor_are_violations(
    chain: Deployment, tmp_path: Path
) -> None:
    deployment = chain
    led = deployment.ledger()
    ds, cps, s = DataSharing(led), AccessCheckpoints(led), deployment.signers
    did = new_dataset(ds, s["dept_b"])
    grant, revoked = (new_grant(ds, s["c1"], s["dept_b"], did, 86_400) for _ in range(2))
    ds.revoke(s["dept_b"], revoked)
    led.rpc("evm_mine", [])
    now = int(led.w3.eth.get_block("latest")["timestamp"])
    assert cps.latest(LOG).tree_size == 0, "another test anchored this member's log"

    def access(g: int, rows: int) -> bytes:
        return log_entry(now, kind="access", dataset=did, version=1, grant=g, member=MEMBER_IDS["c1"],
                         account=s["c1"].address, fields=0b1, row_filter=None, query=keccak(rows), rows=rows,
                         reason=None)

    served = [access(grant, 1), access(grant, 2), access(grant, 3), access(revoked, 4), access(grant, 5)]
    receipts = tmp_path / "receipts"
    receipts.mkdir()
    for i in (1, 2):  # what the grantee kept of two of its fetches
        r = sign_receipt(s["dept_b"], log=LOG, index=i, entry=served[i], time=now, mmd=60, chain_id=led.chain_id,
                         checkpoints=led.contract("AccessCheckpoints").address)
        (receipts / f"{i}.json").write_text(json.dumps({"receipt": r.to_json()}))

    # 1. entry 2 withheld before the first anchor: the log and its checkpoints agree, the receipt does not
    kept = [served[0], served[1], served[3], served[4]]
    first = tmp_path / "withheld" / str(LOG)
    log = _write(first, kept)
    cps.anchor(s["dept_b"], 4, log.root(4), int(led.w3.eth.get_block("latest")["timestamp"]))
    log.close()
    found = _findings(deployment, access_logs=[first.parent], receipts=[receipts])
    assert sorted((f.rule, f.records.get("index")) for f in found) == [
        ("data.log-entry-outside-grant", 2),  # served[3]: the revoked grant
        ("data.log-receipt-invalid", 2),  # the withheld entry, caught from the grantee's receipt
    ], [f.message for f in found]
    assert "revoked" in next(f.message for f in found if f.rule == "data.log-entry-outside-grant")
    assert "inclusion" in next(f.message for f in found if f.rule == "data.log-receipt-invalid")

    # 2. an anchored entry rewritten, and an entry an hour old anchored only now
    late = access(grant, 6)
    second = tmp_path / "rewritten" / str(LOG)
    log = _write(second, [access(grant, 99), *kept[1:], late])
    led.rpc("evm_increaseTime", [3600])  # anchored an hour after its time
    led.rpc("evm_mine", [])
    cps.anchor(s["dept_b"], 5, log.root(5), int(led.w3.eth.get_block("latest")["timestamp"]))
    log.close()
    found = _findings(deployment, access_logs=[second.parent], mmd=60)
    assert sorted((f.rule, f.records.get("index") or f.records.get("size")) for f in found) == [
        ("data.log-checkpoint-mismatch", 4),  # the root at 4 is not the anchored one (5 is: anchored after)
        ("data.log-entry-late", 4),
        ("data.log-entry-outside-grant", 2),
    ], [f.message for f in found]



def test_log_entries_beyond_the_grants_terms_are_violations(tmp_path: Path) -> None:
    """Fields outside the grant's mask, an access past its count and a row filter that is not the one
    the grant binds: each entry flagged `data.access-outside-terms`, the honest one not."""
    deployment = deploy_private(tmp_path / "chain")
    try:
        led = deployment.ledger()
        ds, cps, s = DataSharing(led), AccessCheckpoints(led), deployment.signers
        did = new_dataset(ds, s["dept_b"])
        grant = new_grant(ds, s["c1"], s["dept_b"], did, 86_400, mask=0b011, max_accesses=3)
        led.rpc("evm_mine", [])
        now = int(led.w3.eth.get_block("latest")["timestamp"])

        def access(fields: int, row_filter: bytes | None = None) -> bytes:
            return log_entry(now, kind="access", dataset=did, version=1, grant=grant, member=MEMBER_IDS["c1"],
                             account=s["c1"].address, fields=fields, row_filter=row_filter, query=keccak(b"q"),
                             rows=1, reason=None)

        # 0: two granted fields; 1: a field outside; 2: a filter the grant does not bind; 3: the 4th access of 3
        entries = [access(0b011), access(0b100), access(0b001, keccak(b"filter")), access(0b010)]
        d = tmp_path / "terms" / str(LOG)
        log = _write(d, entries)
        cps.anchor(s["dept_b"], len(entries), log.root(len(entries)), int(led.w3.eth.get_block("latest")["timestamp"]))
        log.close()
        report = run_audit(led, Manifest.load(deployment.manifest_path), AuditOptions(access_logs=[d.parent], mmd=600))
        found = [f for f in report.findings if f.records.get("log") == LOG]
        assert sorted((f.rule, f.records.get("index")) for f in found) == [
            ("data.access-outside-terms", 1),
            ("data.access-outside-terms", 2),
            ("data.access-outside-terms", 3),
        ], [f.message for f in found]
    finally:
        deployment.ganache.stop()
