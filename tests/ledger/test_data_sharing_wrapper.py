"""The DataSharing wrapper against the deployed suite on Ganache: every write and read round-trips."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger.data import (
    Classification,
    DataSharing,
    GrantState,
    RefusalReason,
    RequestState,
    Terms,
    canonical_hash,
    field_mask,
    mask_fields,
    text_hash,
)
from ledger.data.scopes import outside_scope
from ledger.errors import ContractReverted, ValidationFailed
from ledger.merkle import AccessRecord, MerkleTree
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


SCHEMA = ("clinic", "beds", "district", "doctor")


def test_field_masks_follow_the_schema_positions() -> None:
    assert field_mask(SCHEMA, ["beds", "clinic", "clinic", " doctor "]) == 0b1011
    assert mask_fields(SCHEMA, 0b1011) == ("clinic", "beds", "doctor")
    assert mask_fields(SCHEMA, 0b110000) == ()  # bits beyond the schema name nothing
    with pytest.raises(ValidationFailed, match="not fields of the dataset's schema: age, name"):
        field_mask(SCHEMA, ["name", "beds", "age"])
    with pytest.raises(ValidationFailed, match="at least one field"):
        field_mask(SCHEMA, [" "])
    assert canonical_hash({"b": 1, "a": "x"}) == keccak(b'{"a":"x","b":1}')
    # the gateway's rule: the wanted fields' mask, and those outside the grant (unknown ones too)
    assert outside_scope(SCHEMA, ["beds"], 0b0011) == (0b0010, ())
    assert outside_scope(SCHEMA, ["beds", "doctor", "age"], 0b0011) == (0b1010, ("doctor", "age"))
    assert outside_scope(SCHEMA, [], 0b0011) == (0, ("(none)",))


def test_wrapper_round_trip(deployment: Deployment) -> None:
    led = deployment.ledger()
    ds = DataSharing(led)
    s = deployment.signers
    owner, requester, gov = s["dept_a"], s["dept_b"], s["c3"]

    did, r = ds.register(
        owner, "wrapper: clinic beds", Classification.SENSITIVE, keccak(b"m"), keccak(b"s"), keccak(b"c1"), len(SCHEMA)
    )
    assert r.status == 1 and r.event("DatasetRegistered").args["title"] == "wrapper: clinic beds"
    d = ds.dataset(did)
    assert (d.owner_id, d.classification, d.version, d.content_hash, d.field_count) == (
        MEMBER_IDS["dept_a"],
        Classification.SENSITIVE,
        1,
        keccak(b"c1"),
        len(SCHEMA),
    )
    ds.update_version(owner, did, keccak(b"c2"))
    assert ds.dataset(did).version == 2 and ds.dataset(did).content_hash == keccak(b"c2")
    assert ds.content_owner(keccak(b"c1")) == ds.content_owner(keccak(b"c2")) == MEMBER_IDS["dept_a"]

    scope = field_mask(SCHEMA, ["beds", "clinic"])
    row_filter = canonical_hash({"all": [{"field": "district", "op": "eq", "value": "幸福里"}]})
    terms = Terms(3, text_hash("epidemic planning"), scope, 3600, row_filter, max_accesses=9, no_onward_sharing=True)
    rid, _ = ds.request_access(requester, did, terms)
    req = ds.request(rid)
    assert req.state == RequestState.PENDING and req.needs_governance and req.requester_id == MEMBER_IDS["dept_b"]
    r = ds.approve_as_owner(owner, rid)
    assert ds.request(rid).state == RequestState.PARTIALLY_APPROVED and not r.events_named("GrantCreated")
    r = ds.approve_as_governance(gov, rid)
    gid = int(r.event("GrantCreated").args["grantId"])
    g = ds.grant(gid)
    assert g.state == GrantState.ACTIVE and g.field_mask == scope and g.grantee_id == MEMBER_IDS["dept_b"]
    assert (g.row_filter_hash, g.max_accesses, g.no_onward_sharing, g.schema_hash) == (
        row_filter,
        9,
        True,
        keccak(b"s"),
    )
    assert ds.access_verdict(gid, requester.address, 0b0001, 8) is None
    assert ds.access_verdict(gid, requester.address, 0b0100, 0) == RefusalReason.OUT_OF_SCOPE
    assert ds.access_verdict(gid, requester.address, 0b0001, 9) == RefusalReason.LIMIT_REACHED
    assert ds.access_verdict(gid, owner.address, 0b0001, 0) == RefusalReason.NOT_GRANTEE
    assert ds.request(rid).grant_id == gid and ds.request(rid).owner_approver == owner.address
    assert ds.is_access_allowed(gid, requester.address)
    assert not ds.is_access_allowed(gid, owner.address)

    seq, r = ds.record_access(owner, gid, keccak(b"q"), 12, 0b0010)
    assert seq == 1 and r.event("AccessRecorded").args["rowCount"] == 12
    with pytest.raises(ContractReverted) as exc:
        ds.record_access(owner, gid, keccak(b"q"), 12, 0b0100)
    assert exc.value.error_name == "DataFieldsOutOfScope"
    ds.narrow(requester, gid, 0b0001, 9, g.expires_at)
    assert ds.grant(gid).field_mask == 0b0001
    seq, _ = ds.record_refusal(owner, did, gid, MEMBER_IDS["c1"], RefusalReason.NOT_GRANTEE, keccak(b"q"))
    assert seq == 1 and ds.dataset(did).refusals == 1
    seq, r = ds.record_refusal(owner, did, 0, MEMBER_IDS["c1"], RefusalReason.NO_GRANT, keccak(b"q"), attempts=4)
    assert seq == 5 and r.event("AccessRefused").args["attempts"] == 4 and ds.dataset(did).refusals == 5

    old = ds.grant(gid).expires_at
    r = ds.renew(owner, gid, 60)  # a Sensitive grant: the owner asks, data governance extends
    assert r.events_named("GrantRenewalRequested") and ds.grant(gid).expires_at == old
    pending = ds.renewal(gid)
    assert pending is not None and (pending.grant_id, pending.extension, pending.requested_by) == (
        gid,
        60,
        owner.address,
    )
    ds.approve_renewal(gov, gid, 60)
    assert ds.grant(gid).expires_at == old + 60 and ds.renewal(gid) is None
    ds.freeze_grant(gov, gid)
    assert ds.grant(gid).state == GrantState.FROZEN and not ds.is_access_allowed(gid, requester.address)
    ds.unfreeze_grant(gov, gid)
    ds.freeze_member(gov, MEMBER_IDS["dept_b"])
    assert ds.is_member_frozen(MEMBER_IDS["dept_b"]) and ds.grant(gid).state == GrantState.FROZEN
    ds.unfreeze_member(gov, MEMBER_IDS["dept_b"])
    assert ds.grant(gid).state == GrantState.ACTIVE
    ds.revoke(owner, gid)
    assert ds.grant(gid).state == GrantState.REVOKED and ds.grant(gid).revoked_at > 0
    with pytest.raises(ContractReverted) as exc:
        ds.record_access(owner, gid, keccak(b"q"), 1, 0b0001)
    assert exc.value.error_name == "DataGrantNotActive"

    rid2, _ = ds.request_access(requester, did, Terms(1, text_hash("x"), scope, 60))
    ds.deny(owner, rid2, 42)
    assert ds.request(rid2).state == RequestState.DENIED and ds.request(rid2).deny_reason == 42
    rid3, _ = ds.request_access(requester, did, Terms(1, text_hash("y"), scope, 60))
    ds.withdraw(requester, rid3)
    assert ds.request(rid3).state == RequestState.WITHDRAWN
    with pytest.raises(ContractReverted) as exc:
        ds.approve_as_owner(requester, rid3)
    assert exc.value.error_name == "DataNotDatasetOwner"

    now = led.w3.eth.get_block("latest")["timestamp"]
    records = [AccessRecord(gid, keccak(bytes([i])), i, now - 10 + i) for i in range(5)]
    tree = MerkleTree.of_records(records)
    bid, _ = ds.anchor_batch(owner, tree.root, len(records), now - 10, now)
    b = ds.batch(bid)
    assert b.merkle_root == tree.root and b.count == 5 and b.anchorer_id == MEMBER_IDS["dept_a"]
    leaf = records[3].leaf()
    assert ds.access_leaf(gid, records[3].query_hash, 3, records[3].timestamp) == leaf
    assert ds.verify_batch_record(bid, leaf, tree.proof(3))
    assert not ds.verify_batch_record(bid, leaf, tree.proof(2))
    assert ds.request_ttl() > 0 and ds.batch_count() >= bid and ds.grant_count() >= gid
