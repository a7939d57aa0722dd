"""The gateway's logic: upload (store encrypted + register on chain) and serve under a grant.

Serving checks the grant on chain at the latest block, records the access, and
returns the data sealed to the grantee member's registered X25519 key. Content is
served only from what the dataset's owner uploaded for that dataset version (see
``store.py``). How the access is recorded depends on the dataset's classification
(``sync_classifications``, a deployment parameter; default: Secret only):

**synchronous**: one ``recordAccess`` transaction, signed by the owner's gateway key, is
mined before the data leaves; **log** (the rest): the access is appended durably to the
owner member's transparency log before the data leaves, the answer carries a signed
receipt, and checkpoints are anchored within the MMD; nothing is served while they are
overdue (fail closed). See ``log_mode.py``.

A refused attempt is raised as :class:`~ledger.errors.AccessDenied` naming the
reason, at once. In log mode every refusal, by anyone, is an entry of the owner's
log (the answer names it). In synchronous mode, if the caller is an active account
of a member, the refusal is recorded on chain with ``recordRefusal`` off the request
path, at most once per (member, dataset) and window (``refusals.py``); any other
caller is refused and logged locally, and makes the owner sign nothing.

A stored copy that fails an integrity check (edited ciphertext or metadata, a
binding that is missing or forged, content only another member uploaded) is a
server-side alarm: logged at CRITICAL with the stable marker
``ALARM gateway-integrity`` (dataset, owner, content hash; never content or keys)
and raised as :class:`GatewayIntegrityError` (500), with nothing served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from functools import partial
from typing import Any, TypeVar

from eth_utils import keccak

from ledger.client import Ledger, TxReceipt, View
from ledger.data import NAME as DS_NAME
from ledger.data import (
    Classification,
    Dataset,
    DataSharing,
    GrantState,
    RefusalReason,
    canonical_hash,
    dataset_from_view,
    grant_from_view,
    normalize_fields,
)
from ledger.data.row_filter import RowFilter
from ledger.data.scopes import mask_fields, outside_scope
from ledger.errors import (
    AccessDenied,
    Conflict,
    ContractReverted,
    GatewayIntegrityError,
    IntegrityError,
    NotFound,
    ValidationFailed,
)
from ledger.gateway.access_log import UsedUp, log_entry
from ledger.gateway.answers import SealedAnswer, Served, Upload, checksummed, query_hash
from ledger.gateway.log_mode import LogMode
from ledger.gateway.metadata import CatalogFields, catalog_fields, metadata_document, save_metadata
from ledger.gateway.owners import NOT_OWNER
from ledger.gateway.projection import Lru
from ledger.gateway.refusals import REFUSAL_FOR_STATE, Refusal, RefusalRecorder, reason_name, state_detail
from ledger.gateway.store import Format, GatewayStore, StoredMeta
from ledger.gateway.waves import Waves
from ledger.keys import Signer
from ledger.membership import NAME as REG_NAME
from ledger.membership import Member, Registry, account_info_from_view, member_from_view

log = logging.getLogger("ledger.gateway")

_T = TypeVar("_T")

#: The stable marker of the gateway's integrity alarms in the log.
ALARM = "ALARM gateway-integrity"


class Gateway:
    """Args:
        ledger: the chain connection (manifest loaded).
        store: the encrypted dataset store.
        owner_signer: returns a signer of one of the owner member's accounts
            (raises :class:`GatewayUnavailable` when this gateway holds none).
        refusal_window: seconds between two on-chain refusal records of one (member, dataset).
        refusal_queue: most refusal records waiting to be sent.
        sync_classifications: classification names whose accesses are recorded on chain at once;
            the rest go to the owner's transparency log.
        mmd: the maximum merge delay the log receipts promise (seconds).
        anchor_every: anchor a log at once when this many entries wait.
        fail_closed_grace: seconds past the MMD after which an un-anchored log stops its owner's serving.
        pause_after_append: fault injection (tests): seconds to sleep after a log entry is durable.
    """

    def __init__(
        self,
        ledger: Ledger,
        store: GatewayStore,
        owner_signer: Callable[[Member], Signer],
        *,
        documents: Callable[[bytes], str | None] | None = None,
        refusal_window: float = 60.0,
        refusal_queue: int = 1000,
        sealed_cache: int = 64 << 20,
        sync_classifications: Collection[str] = ("secret",),
        mmd: float = 60.0,
        anchor_every: int = 1000,
        fail_closed_grace: float = 30.0,
        pause_after_append: float = 0.0,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.data = DataSharing(ledger)
        self.registry = Registry(ledger)
        self.owner_signer = owner_signer
        self.documents = documents or (lambda _hash: None)  # texts by hash (the document store): row filters
        self._owner_signers: dict[int, Signer] = {}  # owner member id -> the signer last used for it
        self._member_ids: dict[str, int] = {}  # account -> its member id when last read (a hint only)
        self._sealed: Lru[SealedAnswer] = Lru(sealed_cache)  # log mode: sealed answers by grantee key and answer
        self._reads: Waves[dict[str, Any]] = Waves()  # serve's reads, shared by concurrent fetches asking them
        self.shared_reads = True  # share them (off: each fetch reads alone)
        self.refusals = RefusalRecorder(self._record_refusal, refusal_window, refusal_queue)
        self.log_mode = LogMode(
            ledger, store.directory, self._as_owner, sync_classifications=sync_classifications, mmd=mmd,
            anchor_every=anchor_every, grace=fail_closed_grace, pause_after_append=pause_after_append,
        )

    def close(self) -> None:
        """Record every counted refusal, anchor what the logs hold (best effort), stop the threads."""
        self.refusals.close()
        self.log_mode.close()

    def _record_refusal(self, r: Refusal) -> None:
        self._as_owner(
            r.owner_id,
            lambda signer: self.data.record_refusal(
                signer, r.dataset_id, r.grant_id, r.requester_id, r.reason, r.query_hash, r.attempts
            ),
        )

    def _as_owner(self, owner_id: int, write: Callable[[Signer], _T]) -> _T:
        """``write(signer)`` with a signer of the dataset owner member ``owner_id``.

        The signer chosen for an owner is kept: the contract checks on every write that the
        sender is an active account of the dataset's owner (the pre-flight simulation
        refuses it before anything is signed), so a kept signer that is no longer one (its
        account removed, the member replaced) costs one refused simulation, after which
        the owner's accounts are read again from the registry and the write is tried once more.
        """
        signer = self._owner_signers.get(owner_id)
        if signer is not None:
            try:
                return write(signer)
            except ContractReverted as exc:
                if exc.error_name not in NOT_OWNER:
                    raise
                self._owner_signers.pop(owner_id, None)
                if exc.tx_hash is not None:  # mined (no pre-flight): not sent twice
                    raise
        signer = self.owner_signer(self.registry.member(owner_id))
        result = write(signer)
        self._owner_signers[owner_id] = signer
        return result

    # ---------------------------------------------------------------- upload

    def _uploader(self, signer: Signer) -> int:
        """The member of the signer's account: whose folder the upload goes to."""
        info = self.registry.account_info(signer.address)
        if not info.active or not info.member_id:
            raise AccessDenied(f"account {signer.address} is not an active account of a member")
        return info.member_id

    def upload(
        self,
        signer: Signer,
        title: str,
        classification: Classification,
        content: bytes,
        fmt: Format,
        description: str = "",
        schema: Mapping[str, Any] | None = None,
        *,
        catalog: CatalogFields | None = None,
    ) -> Upload:
        """Store ``content`` as the signer's member's upload, register it, and bind the copy to
        the new dataset once the registration is mined. ``schema``: its Frictionless Table Schema
        (None: inferred from the file); the file is validated against it. ``catalog``: its
        catalog fields (none given: the defaults of :func:`~ledger.gateway.metadata.catalog_fields`)."""
        uploader = self._uploader(signer)
        meta = self.store.put(content, fmt, uploader, schema)
        doc = metadata_document(title, description, meta, catalog or catalog_fields(classification))
        save_metadata(self.store.directory, doc)
        dataset_id, receipt = self.data.register(
            signer,
            title,
            classification,
            canonical_hash(doc),
            canonical_hash(meta.schema()),
            meta.content_hash,
            len(meta.fields),
        )
        owner = int(receipt.event("DatasetRegistered").args["ownerId"])
        self.store.bind(owner, meta.content_hash, dataset_id, 1)
        return Upload(dataset_id, receipt, meta, doc)

    def update(
        self,
        signer: Signer,
        dataset_id: int,
        content: bytes,
        fmt: Format,
        schema: Mapping[str, Any] | None = None,
    ) -> tuple[TxReceipt, StoredMeta]:
        """Store a new version (the owner's) and bind it once ``updateDatasetVersion`` is mined.
        It must match the dataset's registered table schema: ``schema`` if given, else the one
        stored with the current version here (else inferred from the file)."""
        ds = self.data.dataset(dataset_id)
        uploader = self._uploader(signer)
        if schema is None and self.store.has(ds.owner_id, ds.content_hash):
            current = self._guarded(ds, lambda: self.store.meta(ds.owner_id, ds.content_hash))
            if current.schema_hash == ds.schema_hash:
                schema = current.table_schema
        meta = self.store.put(content, fmt, uploader, schema)
        if canonical_hash(meta.schema()) != ds.schema_hash:
            raise ValidationFailed(
                "file", "the new version's table schema differs from the dataset's registered schema"
            )
        receipt = self.data.update_version(signer, dataset_id, meta.content_hash)
        version = int(receipt.event("DatasetVersionUpdated").args["version"])
        self.store.bind(ds.owner_id, meta.content_hash, dataset_id, version)
        return receipt, meta

    def adopt(
        self, signer: Signer, dataset_id: int, content: bytes, fmt: Format, schema: Mapping[str, Any] | None = None
    ) -> StoredMeta:
        """Store the current version of one of the signer's member's datasets, registered
        before (or on another gateway): its content hash and table schema (``schema``, else
        inferred from the file) must be the chain's."""
        ds = self.data.dataset(dataset_id)
        uploader = self._uploader(signer)
        if uploader != ds.owner_id:
            raise AccessDenied(
                f"only the owner of dataset {dataset_id} (member {ds.owner_id}) may store its content; "
                f"the signer is member {uploader}"
            )
        if keccak(content) != ds.content_hash:
            raise ValidationFailed("file", f"its keccak256 is not dataset {dataset_id}'s registered content hash")
        meta = self.store.put(content, fmt, uploader, schema)
        if canonical_hash(meta.schema()) != ds.schema_hash:
            raise ValidationFailed(
                "schema", f"the file's table schema is not dataset {dataset_id}'s registered one: pass that schema"
            )
        self.store.bind(uploader, ds.content_hash, dataset_id, ds.version)
        return meta

    def schema_fields(self, ds: Dataset) -> tuple[str, ...]:
        """The dataset's fields from its owner's stored (authenticated) metadata, checked against
        the chain. NotFound if the owner stored no copy here; IntegrityError if only another
        member did (the dataset names content that is not its owner's)."""
        try:
            meta = self.store.meta(ds.owner_id, ds.content_hash)
        except NotFound:
            others = [m for m in self.store.uploaders(ds.content_hash) if m != ds.owner_id]
            if others:
                raise IntegrityError(
                    f"dataset {ds.id} of member {ds.owner_id} names content that only member(s) "
                    f"{', '.join(map(str, others))} uploaded here"
                ) from None
            raise
        if canonical_hash(meta.schema()) != ds.schema_hash:
            raise IntegrityError(f"stored schema of dataset {ds.id} does not match its on-chain schemaHash")
        return meta.fields

    def row_filter(self, ds: Dataset, stored: StoredMeta, filter_hash: bytes | None) -> RowFilter | None:
        """The row filter a grant binds by ``filter_hash`` (None: every row), read from ``documents``;
        one this gateway cannot read, or not the one bound, is an integrity alarm (nothing served)."""
        return self._guarded(ds, lambda: self.store.row_filter(filter_hash, stored, self.documents))

    def _guarded(self, ds: Dataset, read: Callable[[], _T]) -> _T:
        """``read()`` of the dataset's stored copy; an integrity failure is an alarm (and a 500)."""
        try:
            return read()
        except IntegrityError as exc:
            log.critical(
                "%s dataset=%d owner=%d content=0x%s: %s",
                ALARM,
                ds.id,
                ds.owner_id,
                ds.content_hash.hex(),
                exc.message,
            )
            raise GatewayIntegrityError(ds.id, ds.content_hash, exc.message) from exc

    # ---------------------------------------------------------------- serve

    def _read(self, reads: dict[str, View], wanted_grant: bool) -> dict[str, Any]:
        """``reads`` at one block, the head when the read begins (a grant id beyond the count:
        read without ``grant``)."""
        block = self.ledger.block_number()
        try:
            return dict(zip(reads, self.ledger.views(list(reads.values()), block=block), strict=True))
        except ContractReverted as exc:
            if exc.error_name != "DataUnknownGrant" or not wanted_grant:
                raise  # DataUnknownDataset -> 404
            # a grant id beyond the count (getGrant says so itself: no grantCount is read): refused below
            rest = {k: v for k, v in reads.items() if k != "grant"}
            return dict(zip(rest, self.ledger.views(list(rest.values()), block=block), strict=True))

    def serve(
        self,
        dataset_id: int,
        caller_account: str,
        fields: list[str] | None,
        grant_id: int | None,
    ) -> Served:
        # The chain's answers the checks below need, read in one JSON-RPC batch (one round
        # trip instead of five): the dataset, the caller's account, the grant and the
        # contract's own isAccessAllowed verdict, all at the latest block.
        account = checksummed(caller_account)
        wanted_grant = grant_id is not None and grant_id >= 1
        reads: dict[str, View] = {
            "dataset": (DS_NAME, "getDataset", (dataset_id,)),
            "account": (REG_NAME, "accountInfo", (account,)),
        }
        # The caller's member record (its data key) rides along when the account's member is
        # known from an earlier fetch; it is used only if accountInfo, read in the same batch,
        # still names that member.
        guess = self._member_ids.get(account)
        if guess:
            reads["member"] = (REG_NAME, "getMember", (guess,))
        if wanted_grant:
            reads["allowed"] = (DS_NAME, "isAccessAllowed", (grant_id, account))
            reads["grant"] = (DS_NAME, "getGrant", (grant_id,))
        # Concurrent fetches asking the same share one read begun after each arrived (waves).
        read = partial(self._read, reads, wanted_grant)
        got = self._reads.read(tuple(reads.values()), read) if self.shared_reads else read()
        ds = dataset_from_view(got["dataset"])
        info = account_info_from_view(got["account"])
        allowed = bool(got.get("allowed", False))
        if info.member_id:
            if len(self._member_ids) >= 10_000:
                self._member_ids.clear()
            self._member_ids[account] = info.member_id
        else:
            self._member_ids.pop(account, None)
        logged = self.log_mode.applies(ds)
        if logged:
            self.log_mode.check_anchoring(ds.owner_id)
        all_fields = self._guarded(ds, lambda: self.schema_fields(ds))
        # No fields asked: the grant's (a grant of some fields serves them without naming them).
        presented = grant_from_view(got["grant"]) if got.get("grant") is not None else None
        granted = presented.field_mask if presented is not None and presented.dataset_id == dataset_id else -1
        wanted = normalize_fields(fields) if fields else list(mask_fields(all_fields, granted))
        qhash = query_hash(dataset_id, ds.version, wanted)
        caller_id = info.member_id if info.active else 0
        # the field mask of the query (bit i: field i of the schema) and the wanted fields outside it
        mask = outside_scope(all_fields, wanted, 0)[0]

        query = partial(  # an entry of the owner's log, given its time
            log_entry, dataset=dataset_id, version=ds.version, member=caller_id, account=account, fields=mask,
            query=qhash,
        )

        def refuse(reason: RefusalReason, detail: str, presented: int = 0) -> AccessDenied:
            name = reason_name(reason)
            if logged:  # every refusal, by anyone, is an entry of the owner's log
                return self.log_mode.refusal(
                    ds.owner_id,
                    partial(query, kind="refusal", grant=presented, row_filter=None, rows=0, reason=name),
                    name,
                    detail,
                )
            if not caller_id:
                # Not an active account of a member: refused and logged here, nothing on chain.
                log.warning(
                    "refused fetch of dataset %d by %s, not an active account of a member: %s: %s",
                    dataset_id,
                    account,
                    name,
                    detail,
                )
                return AccessDenied(f"{name}: {detail}", refusal_reason=name, refusal_record="none")
            outcome = self.refusals.submit(Refusal(dataset_id, ds.owner_id, presented, caller_id, reason, qhash))
            log.info("refused fetch of dataset %d by member %d: %s (record %s)", dataset_id, caller_id, name, outcome)
            return AccessDenied(f"{name}: {detail}", refusal_reason=name, refusal_record=outcome)

        if grant_id is None or grant_id < 1 or got.get("grant") is None:
            raise refuse(RefusalReason.NO_GRANT, f"no grant on dataset {dataset_id} was presented or found")
        grant = grant_from_view(got["grant"])
        if grant.dataset_id != dataset_id:
            raise refuse(RefusalReason.NO_GRANT, f"grant {grant_id} is not a grant on dataset {dataset_id}")
        if caller_id == 0 or caller_id != grant.grantee_id:
            raise refuse(
                RefusalReason.NOT_GRANTEE,
                f"the caller is not an active account of grant {grant_id}'s grantee member",
                grant_id,
            )
        if grant.state != GrantState.ACTIVE:
            raise refuse(REFUSAL_FOR_STATE[grant.state], state_detail(grant), grant_id)
        mask, outside = outside_scope(all_fields, wanted, grant.field_mask)
        if outside:
            detail = f"fields {','.join(outside)} are outside the scope of grant {grant_id}"
            raise refuse(RefusalReason.OUT_OF_SCOPE, detail, grant_id)
        used = grant.accesses + (self.log_mode.used(ds.owner_id, grant_id) if logged else 0)
        if grant.max_accesses and used >= grant.max_accesses:
            detail = f"grant {grant_id}'s {grant.max_accesses} accesses are used"
            raise refuse(RefusalReason.LIMIT_REACHED, detail, grant_id)
        if not allowed:
            raise refuse(RefusalReason.OTHER, f"isAccessAllowed({grant_id}) is false at the latest block", grant_id)
        # Its data key as of this request (a council may replace it at any block).
        known = guess == caller_id and "member" in got
        grantee = member_from_view(got["member"]) if known else self.registry.member(caller_id)
        if grantee.data_key is None:
            raise Conflict(
                f"member {grantee.id} has no registered X25519 data key: generate one with "
                "`cogov data keygen` and register it with a council set_data_key proposal"
            )
        data_key = bytes.fromhex(str(grantee.data_key)[2:])
        # Log mode: the envelope binds the answer (the grant, the fields, the rows, the content) and is
        # sealed once per grantee key and answer (a kept answer needs no read of the stored copy: it
        # was made from a verified one); the facts of each access are its signed receipt's.
        answer = (data_key, grant_id, ds.version, ds.content_hash, tuple(wanted), grant.row_filter_hash)
        kept = self._sealed.get(answer) if logged else None
        header: dict[str, Any] = {
            "dataset_id": dataset_id,
            "version": ds.version,
            "grant_id": grant_id,
            "grantee_id": grant.grantee_id,
            "fields": list(wanted),
        }
        payload = b""
        if kept is None:
            # Only what the owner uploaded for this dataset version; tampering is an alarm.
            content = self._guarded(
                ds, lambda: self.store.read_bound(ds.owner_id, ds.content_hash, ds.id, ds.version)
            )
            stored = self._guarded(ds, lambda: self.store.meta(ds.owner_id, ds.content_hash))
            # The wanted fields in schema order, the rows the grant's filter lets through; the stored
            # bytes as they are when nothing is cut (their hash is then the content hash).
            flt = self.row_filter(ds, stored, grant.row_filter_hash)
            payload, rows = self.store.project(stored, content, wanted, flt)
            header.update(
                rows=rows,
                content_hash="0x" + ds.content_hash.hex(),
                payload_keccak256="0x" + (ds.content_hash if payload is content else keccak(payload)).hex(),
            )
        else:
            rows = kept.rows
        receipt: TxReceipt | None = None
        log_receipt: dict[str, Any] | None = None
        if logged:  # durable in the owner's log before anything leaves
            entry = partial(
                query, kind="access", grant=grant_id, row_filter=grant.row_filter_hash, rows=rows, reason=None
            )
            left = grant.max_accesses - grant.accesses if grant.max_accesses else 0
            try:
                _, log_receipt = self.log_mode.access(ds.owner_id, grant_id, entry, left)
            except UsedUp:  # a concurrent fetch took the last one
                raise refuse(RefusalReason.LIMIT_REACHED, f"grant {grant_id}'s accesses are used", grant_id) from None
            seq = grant.accesses + self.log_mode.used(ds.owner_id, grant_id)
            if kept is None:
                kept = SealedAnswer.of(data_key, payload, header)
                self._sealed.put(answer, kept, len(kept.ciphertext) * 7 // 3)  # with its JSON form
        else:
            try:
                seq, receipt = self._as_owner(
                    ds.owner_id, lambda signer: self.data.record_access(signer, grant_id, qhash, rows, mask)
                )
            except ContractReverted as exc:
                if exc.error_name == "DataAccessLimitReached":  # another fetch took the last one
                    raise refuse(
                        RefusalReason.LIMIT_REACHED, f"grant {grant_id}'s accesses are used", grant_id
                    ) from exc
                if exc.error_name != "DataGrantNotActive":
                    raise
                # The grant changed between the check and the write: refuse and record it.
                grant = self.data.grant(grant_id)
                reason = REFUSAL_FOR_STATE.get(grant.state, RefusalReason.OTHER)
                raise refuse(reason, state_detail(grant), grant_id) from exc
            kept = SealedAnswer.of(data_key, payload, {**header, "seq": seq, "access_tx": receipt.tx_hash})
        return Served(
            dataset_id=dataset_id,
            grant_id=grant_id,
            grantee_id=grant.grantee_id,
            seq=seq,
            rows=rows,
            fields=tuple(wanted),
            content_hash="0x" + ds.content_hash.hex(),
            payload_hash=kept.payload_hash,
            sealed=kept,
            receipt=receipt,
            log_receipt=log_receipt,
        )
