"""DataSharing replayed from its events, with the data rules: accesses inside active grants and
their terms at that time (fields a subset of the grant's, no more than its maximum count), grants
carrying their request's terms and the dataset's schema, narrowings that only narrow, grants
after the right approvals (two distinct approvers for Sensitive and Secret data), renewals of
Sensitive and Secret grants only through an independent data-governance approval and never of a
frozen grant, and no dataset naming content another member registered first.

The replay is the data domain's one reducer (:class:`ledger.data.DataState`) with the rules on
top: each event is checked against the state before (or after) it is folded in. Each grant's history (expiry,
revocation, freezes, its grantee's freezes) is kept by the reducer, so that the state of a grant
at any past time can be told (:meth:`DataReplay.state_at`): the Merkle batch check
(``batches.py``) judges each off-chain record at its own time. The comparison with the
contract's views is :mod:`ledger.audit.replay.data_views`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from ledger.audit.collect import Collector
from ledger.audit.replay.base import ZERO_ADDRESS, Checks
from ledger.audit.replay.data_views import data_checks
from ledger.audit.replay.membership import MembershipReplay
from ledger.data import Classification, DatasetRecord, DataState, GrantRecord, GrantState
from ledger.data.scopes import is_subset
from ledger.events import Event
from ledger.membership import Role

_DATASET, _REQUEST, _GRANT = ("datasetId", "dataset"), ("requestId", "request"), ("grantId", "grant")
#: the record each event names (argument, kind of record), and whether the event creates it (with
#: the next id) or needs it to exist already
_NAMES = {
    "DatasetRegistered": (*_DATASET, True),
    "AccessRequested": (*_REQUEST, True),
    "GrantCreated": (*_GRANT, True),
    "AccessBatchAnchored": ("batchId", "batch", True),
    "DatasetVersionUpdated": (*_DATASET, False),
    "AccessRefused": (*_DATASET, False),
    **dict.fromkeys(
        ("RequestApprovedByOwner", "RequestApprovedByGovernance", "RequestDenied", "RequestWithdrawn"),
        (*_REQUEST, False),
    ),
    **dict.fromkeys(
        (
            "GrantRenewalRequested",
            "GrantRenewalApproved",
            "GrantRenewed",
            "GrantRevoked",
            "GrantFrozen",
            "GrantUnfrozen",
            "GrantNarrowed",
        ),
        (*_GRANT, False),
    ),
}
_RECORDS = {"dataset": "datasets", "request": "requests", "grant": "grants", "batch": "batches"}
_STATES = ["active", "expired", "revoked", "frozen"]


class DataReplay(DataState):
    """The data reducer's state, each event checked against the rules as it is folded in."""

    contract = "DataSharing"

    def __init__(self, out: Collector, registry: MembershipReplay) -> None:
        super().__init__()
        self.out = out
        self.reg = registry
        self.owner_approver_member: dict[int, int] = {}  # request -> the registry's member of its owner approver
        self._approved: dict[int, tuple[str, int, bool]] = {}  # grant -> (tx, extension, independent)
        self.grants_by_member: Counter[int] = Counter()
        self.accesses_by_member: Counter[int] = Counter()
        self.accesses_by_owner: Counter[int] = Counter()

    def state_at(self, g: GrantRecord, t: int) -> GrantState | None:
        """The grant's state at time ``t`` (None: not granted yet)."""
        return self.grant_state_at(g, t)

    # ------------------------------------------------------------------ replay

    def on_event(self, e: Event) -> None:
        n, a = e.name, e.args
        if n == "AccessRecorded":  # most events by far: straight through
            g = self._access_allowed(e)
            if g is not None:
                self.apply(e)
                self._accessed(g, e)
            return
        named = _NAMES.get(n)
        if named is not None:
            arg, kind, creates = named
            records: Mapping[int, object] = getattr(self, _RECORDS[kind])
            record_id = int(a[arg])
            if creates:
                self.out.expect(
                    "state.replay-inconsistent",
                    record_id == len(records) + 1,
                    f"{kind} id {record_id} out of sequence",
                    event=e,
                )
            elif not self.out.expect(
                "state.replay-inconsistent", record_id in records, f"{n} for an unknown {kind}", event=e
            ):
                return
        if n == "GrantRenewalRequested":
            self._renewal_requested(e)
        elif n == "GrantRenewalApproved":
            self._renewal_approved(e)
        elif n == "GrantRenewed":
            self._renewed(e)
        elif n == "GrantNarrowed":
            self._check_narrower(e)
        self.apply(e)
        if n == "DatasetRegistered" or n == "DatasetVersionUpdated":
            self._claim(self.datasets[int(a["datasetId"])], e)
        elif n == "RequestApprovedByOwner":
            self.owner_approver_member[int(a["requestId"])] = self.reg.member_id(a["approver"])
        elif n == "RequestApprovedByGovernance":
            self.out.expect(
                "data.sensitive-single-approver",
                self.reg.has_role(a["approver"], Role.DATA_GOVERNANCE),
                f"request {int(a['requestId'])}: governance approval by {a['approver']}, "
                "which lacks the DataGovernance role",
                event=e,
                request=int(a["requestId"]),
            )
        elif n == "GrantCreated":
            self._grant_created(e)
        elif n == "AccessRefused":
            d = self.datasets[int(a["datasetId"])]
            self.out.expect(
                "state.replay-inconsistent",
                int(a["seq"]) == d.refusals,
                f"refusal seq {a['seq']} of dataset {d.id}, expected {d.refusals}",
                event=e,
            )

    def _claim(self, d: DatasetRecord, e: Event) -> None:
        """A content hash belongs to the member that registered it first (issue 14 item 1)."""
        holder = self.content_owner[d.content_hash]
        self.out.expect(
            "data.content-aliased",
            holder == d.owner_id,
            f"dataset {d.id} of {self.reg.name(d.owner_id)} names content {d.content_hash}, "
            f"which {self.reg.name(holder)} registered first",
            event=e, dataset=d.id, owner=d.owner_id, first_owner=holder, content_hash=d.content_hash,
        )

    def _renewal_requested(self, e: Event) -> None:
        g = self.grants[int(e.args["grantId"])]
        self.out.expect(
            "state.replay-inconsistent",
            self.sensitive(g),
            f"grant {g.id}: a renewal waits for data governance, but its dataset is neither Sensitive nor Secret",
            event=e,
        )
        self._check_renewable(g, e)

    def _renewal_approved(self, e: Event) -> None:
        """Data governance approved a pending renewal: an independent approver, the asked extension."""
        a = e.args
        g = self.grants[int(a["grantId"])]
        pending = self.renewals.get(g.id)
        d = self.datasets.get(g.dataset_id)
        approver, gov_id, extension = a["approver"], int(a["governanceId"]), int(a["extension"])
        independent = (
            pending is not None
            and pending.extension == extension
            and pending.requested_by.lower() != approver.lower()
            and self.reg.has_role(approver, Role.DATA_GOVERNANCE)
            and self.reg.member_id(approver) == gov_id
            and d is not None
            and gov_id not in (0, d.owner_id, g.grantee_id)
        )
        self.out.expect(
            "data.renewal-without-governance",
            independent,
            f"grant {g.id}: renewal approved by {approver} (member {gov_id}), which is not an independent "
            "DataGovernance approval of the extension its owner asked for",
            event=e, grant=g.id, approver=approver, governance_member=gov_id,
            asked=None if pending is None else {"extension": pending.extension, "by": pending.requested_by},
        )
        self._approved[g.id] = (e.tx_hash, extension, independent)

    def _renewed(self, e: Event) -> None:
        a = e.args
        g = self.grants[int(a["grantId"])]
        old, new = int(a["oldExpiresAt"]), int(a["newExpiresAt"])
        self._check_renewable(g, e)
        if self.sensitive(g):
            approval = self._approved.pop(g.id, None)
            self.out.expect(
                "data.renewal-without-governance",
                approval is not None and approval[0] == e.tx_hash and approval[1] == new - old,
                f"grant {g.id} on a Sensitive/Secret dataset renewed to {new} without a data-governance approval",
                event=e, grant=g.id, old_expires_at=old, new_expires_at=new,
            )
        self.out.expect(
            "state.replay-inconsistent",
            old == g.expires_at,
            f"grant {g.id} renewed from {old}, the replay has {g.expires_at}",
            event=e,
        )

    def _check_narrower(self, e: Event) -> None:
        """A narrowing takes no approval, so it must not widen any term, and only the dataset's
        owner or the grantee narrows (issue 17)."""
        a = e.args
        g = self.grants[int(a["grantId"])]
        mask, limit, expires = int(a["fieldMask"]), int(a["maxAccesses"]), int(a["expiresAt"])
        d = self.datasets.get(g.dataset_id)
        by = self.reg.member_id(str(a["account"])) if self.reg.active_account(str(a["account"])) else 0
        narrower = by != 0 and by in (g.grantee_id, d.owner_id if d else 0) and (
            is_subset(mask, g.field_mask)
            and (g.max_accesses == 0 or 0 < limit <= g.max_accesses)
            and e.block_time < expires <= g.expires_at
            and (mask, limit, expires) != (g.field_mask, g.max_accesses, g.expires_at)
        )
        self.out.expect(
            "data.terms-widened",
            narrower,
            f"grant {g.id} 'narrowed' to fields {mask:#x}, limit {limit}, expiry {expires} from fields "
            f"{g.field_mask:#x}, limit {g.max_accesses}, expiry {g.expires_at} by member {by}: a term widened, "
            "none narrowed, or neither the owner nor the grantee narrowed it",
            event=e, grant=g.id, account=a["account"], member=by,
        )

    def _check_renewable(self, g: GrantRecord, e: Event) -> None:
        state = self.grant_state(g, e.block_time)
        self.out.expect(
            "data.renewal-not-active",
            state == GrantState.ACTIVE,
            f"grant {g.id} renewed (or its renewal asked for) while {_STATES[state]}",
            event=e, grant=g.id, frozen=g.frozen, member_frozen=self.member_frozen.get(g.grantee_id, False),
        )

    def _grant_created(self, e: Event) -> None:
        a = e.args
        g = self.grants[int(a["grantId"])]
        gid = g.id
        r = self.requests.get(g.request_id)
        d = self.datasets.get(g.dataset_id)
        self.grants_by_member[g.grantee_id] += 1
        if r is None or d is None:
            self.out.add("data.grant-without-approval", f"grant {gid} refers to an unknown request or dataset", event=e)
            return
        owner_member = self.owner_approver_member.get(r.id, 0)
        ok_owner = r.owner_approver != ZERO_ADDRESS and owner_member == d.owner_id
        self.out.expect(
            "data.grant-without-approval",
            ok_owner and r.dataset_id == d.id and r.requester_id == g.grantee_id,
            f"grant {gid} without an approval by the dataset owner's member ({self.reg.name(d.owner_id)})",
            event=e, request=r.id, owner_approver=r.owner_approver, owner_approver_member=owner_member,
            dataset_owner=d.owner_id,
        )
        self.out.expect(
            "state.replay-inconsistent",
            g.expires_at == e.block_time + r.duration
            and (g.field_mask, g.row_filter_hash, g.max_accesses, g.no_onward_sharing)
            == (r.field_mask, r.row_filter_hash, r.max_accesses, r.no_onward_sharing)
            and g.schema_hash == d.schema_hash,
            f"grant {gid}: expiry, terms or schema differ from its request {r.id} and dataset {d.id}",
            event=e,
        )
        if d.sensitive:
            gov = r.governance_approver
            distinct = gov != ZERO_ADDRESS and gov.lower() != r.owner_approver.lower()
            independent = r.governance_approver_id not in (0, d.owner_id, r.requester_id)
            self.out.expect(
                "data.sensitive-single-approver",
                distinct and independent,
                f"grant {gid} on {'Secret' if d.classification == Classification.SECRET else 'Sensitive'} "
                f"dataset {d.id} without two distinct, independent approvers",
                event=e, request=r.id, owner_approver=r.owner_approver, governance_approver=gov,
                governance_member=r.governance_approver_id,
            )

    def _access_allowed(self, e: Event) -> GrantRecord | None:
        """The rule on an access, before it is counted; its grant (None: unknown, nothing to count)."""
        a = e.args
        gid = int(a["grantId"])
        g = self.grants.get(gid)
        if g is None:
            self.out.expect(
                "data.access-outside-grant",
                False,
                f"access recorded under grant {gid}, which does not exist",
                event=e,
                grant=gid,
            )
            return None
        # the most frequent events by far: each rule is counted, its message only written when it fails
        state = self.grant_state(g, e.block_time)
        served = int(a.get("fieldMask", g.field_mask))
        self.out.check("data.access-outside-terms")
        if not (is_subset(served, g.field_mask) and (g.max_accesses == 0 or int(a["seq"]) <= g.max_accesses)):
            self.out.add(
                "data.access-outside-terms",
                f"access #{a['seq']} under grant {gid} served fields {served:#x} of {g.field_mask:#x} "
                f"(limit {g.max_accesses or 'none'})",
                event=e, grant=gid, fields=served, granted=g.field_mask, max_accesses=g.max_accesses,
            )
        self.out.check("data.access-outside-grant")
        if not (
            state == GrantState.ACTIVE
            and int(a["datasetId"]) == g.dataset_id
            and int(a["granteeId"]) == g.grantee_id
            and int(a["at"]) == e.block_time
        ):
            self.out.add(
                "data.access-outside-grant",
                f"access #{a['seq']} under grant {gid} while the grant was "
                f"{_STATES[state]} (or for another dataset/grantee/time)",
                event=e,
                grant={
                    "id": g.id, "dataset": g.dataset_id, "grantee": g.grantee_id, "expires_at": g.expires_at,
                    "revoked_at": g.revoked_at, "frozen": g.frozen,
                },
                block_time=e.block_time,
            )
        return g

    def _accessed(self, g: GrantRecord, e: Event) -> None:
        self.out.check("state.replay-inconsistent")
        if int(e.args["seq"]) != g.accesses:
            message = f"access seq {e.args['seq']} of grant {g.id}, expected {g.accesses}"
            self.out.add("state.replay-inconsistent", message, event=e)
        self.accesses_by_member[g.grantee_id] += 1
        d = self.datasets.get(g.dataset_id)
        if d is not None:
            self.accesses_by_owner[d.owner_id] += 1

    # ------------------------------------------------------------------ state

    def checks(self, head_time: int) -> Checks:
        return data_checks(self.contract, self, head_time)
