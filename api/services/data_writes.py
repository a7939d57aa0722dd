"""Data sharing's writes for one caller on requests and grants: the checks made before anything is
signed (the dataset's owner, where the answer names them), the prepared call, the send through
the write's session (:mod:`api.idempotency`), and the answer built from the receipt (the record
as the chain's views show it now). Each reads top to bottom: no callbacks.

The chain enforces who may approve, deny, renew, freeze: its pre-flight refuses before anything
is signed and ``api/problems.py`` answers. Dataset uploads go through the gateway
(``api/routers/data.py``), which stores the file before it registers it.
"""

from __future__ import annotations

from functools import cached_property

from api.deps import Caller, WriteRequest
from api.documents import writer
from api.idempotency import Answer, WriteSession
from api.schemas.common import tx_info
from api.schemas.data import (
    AccessRequestCreate,
    AccessRequestPublic,
    AccessRequestWrite,
    DatasetWrite,
    DenyBody,
    GrantPublic,
    GrantWrite,
    LogReceipt,
    NarrowBody,
    RenewalPublic,
    RenewBody,
    SealedData,
)
from api.services.data import (
    approve_call_for,
    dataset_or_404,
    dataset_public,
    find_grant,
    gateway_or_none,
    grant_or_404,
    grant_public_from_chain,
    request_or_404,
    request_public,
    require_department,
    require_owner,
    table_schema,
)
from api.services.index import CallerScoped
from api.state import ServiceState
from ledger.client import ContractCall, TxReceipt
from ledger.data import Classification, DataSharing, Terms, field_mask
from ledger.data import row_filter as rf
from ledger.data.table_schema import field_names, load_schema, schema_hash
from ledger.data.table_schema import normalise as normalise_schema
from ledger.errors import ContractReverted, NotFound, ValidationFailed
from ledger.gateway import Gateway, detect_format
from ledger.gateway.answers import Served
from ledger.gateway.metadata import CatalogFields


def upload(state: ServiceState, gw: Gateway, caller: Caller, content: bytes, filename: str | None,
           fmt: str | None, title: str, cls: Classification, description: str, table: bytes | None,
           catalog: CatalogFields | None = None) -> DatasetWrite:
    """Register a dataset: the file stored encrypted by the gateway, then registered on chain (a
    department only); its table schema ``table`` (JSON) or inferred from the file."""
    state.check_chain()
    fmt = fmt or detect_format(filename, content)
    require_department(state, caller)
    schema = load_schema(table) if table is not None else None
    up = gw.upload(caller.signer(), title, cls, content, fmt, description, schema, catalog=catalog)  # type: ignore[arg-type]
    state.catch_up(up.receipt.block_number)
    return DatasetWrite(tx=tx_info(up.receipt), dataset=dataset_public(gw.data.dataset(up.dataset_id), gw))


def update(state: ServiceState, gw: Gateway, caller: Caller, dataset_id: int, content: bytes, filename: str | None,
           fmt: str | None, table: bytes | None) -> DatasetWrite:
    """Upload a new version of a dataset (its owner only)."""
    state.check_chain()
    require_owner(state, caller, dataset_id, "upload a new version")
    fmt = fmt or detect_format(filename, content)
    schema = load_schema(table) if table is not None else None
    receipt, _ = gw.update(caller.signer(), dataset_id, content, fmt, schema)  # type: ignore[arg-type]
    state.catch_up(receipt.block_number)
    return DatasetWrite(tx=tx_info(receipt), dataset=dataset_public(gw.data.dataset(dataset_id), gw))


class DataWrites(CallerScoped):
    """One caller's writes on access requests and grants."""

    @cached_property
    def data(self) -> DataSharing:
        return DataSharing(self.state.ledger)

    # ---------------------------------------------------------------- requests

    def create_request(self, write: WriteRequest, body: AccessRequestCreate, gw: Gateway) -> Answer:
        """Request access under terms: the fields (names of the dataset's table schema, refused
        with 422 naming the unknown ones) as a mask, the row filter (checked against the schema,
        kept as a document, bound by its canonical hash), the limit and the no-onward-sharing
        acknowledgement. The purpose is a salted commitment (the hash alone confirms no guess);
        both texts are kept once the chain took the request."""
        ds = dataset_or_404(self.state, body.dataset_id)
        if body.table_schema is None:
            schema = table_schema(gw, ds)
        elif schema_hash(body.table_schema) == ds.schema_hash:
            schema = normalise_schema(body.table_schema)
        else:
            raise ValidationFailed("table_schema", f"not dataset {ds.id}'s registered table schema")
        names = field_names(schema)
        mask = field_mask(names, body.fields or names)
        docs = writer(self.state, self.caller)
        purpose = docs.draft("purpose", body.purpose)
        row_filter = None
        if body.row_filter is not None:
            rf.parse(body.row_filter, schema)  # 422 naming an unknown field or a value of the wrong type
            row_filter = docs.draft("row_filter", rf.document_text(body.row_filter))
        terms = Terms(
            body.purpose_code,
            purpose.hash,
            mask,
            body.duration,
            None if body.row_filter is None else rf.row_filter_hash(body.row_filter),
            body.max_accesses,
            body.no_onward_sharing,
        )
        call = self.data.request_access_call(body.dataset_id, terms)
        with write.session(self.state, self.caller, body.model_dump(), docs.journal([purpose, row_filter])) as w:
            if (r := self._send(w, call)) is not None:
                docs.accept(r)
                w.done(r, 201, self.request_answer(int(r.event("AccessRequested").args["requestId"]), r))
        return w.answer

    def approve_request(self, write: WriteRequest, request_id: int) -> Answer:
        """As the dataset's owner, else as data governance (whose pre-flight refuses a caller without the role)."""
        return self._on_request(write, {"request": request_id}, request_id,
                                approve_call_for(self.state, self.caller, request_id))

    def deny_request(self, write: WriteRequest, request_id: int, body: DenyBody) -> Answer:
        req = request_or_404(self.state, request_id)
        require_owner(self.state, self.caller, req.dataset_id, f"deny request {request_id}")
        return self._on_request(write, body.model_dump(), request_id, self.data.deny_call(request_id, body.reason_code))

    def withdraw_request(self, write: WriteRequest, request_id: int) -> Answer:
        return self._on_request(write, {"request": request_id}, request_id, self.data.withdraw_call(request_id))

    # ---------------------------------------------------------------- grants

    def revoke_grant(self, write: WriteRequest, grant_id: int) -> Answer:
        g = grant_or_404(self.state, grant_id)
        require_owner(self.state, self.caller, g.dataset_id, f"revoke grant {grant_id}")
        return self._on_grant(write, {"grant": grant_id}, grant_id, self.data.revoke_call(grant_id))

    def renew_grant(self, write: WriteRequest, grant_id: int, body: RenewBody) -> Answer:
        call = self.data.renew_call(grant_id, body.extension)
        return self._on_grant(write, body.model_dump(), grant_id, call, renewal=True)

    def approve_renewal(self, write: WriteRequest, grant_id: int, body: RenewBody) -> Answer:
        call = self.data.approve_renewal_call(grant_id, body.extension)
        return self._on_grant(write, body.model_dump(), grant_id, call, renewal=True)

    def narrow_grant(self, write: WriteRequest, grant_id: int, body: NarrowBody, gw: Gateway) -> Answer:
        """Narrow a grant's terms (the owner or the grantee; the chain refuses anyone else, and any
        term that would widen): the fields by name, a lower limit, an earlier end."""
        g = grant_or_404(self.state, grant_id)
        mask = g.field_mask
        if body.fields is not None:
            mask = field_mask(field_names(table_schema(gw, dataset_or_404(self.state, g.dataset_id))), body.fields)
        limit = g.max_accesses if body.max_accesses is None else body.max_accesses
        expires = g.expires_at if body.expires_at is None else body.expires_at
        call = self.data.narrow_call(grant_id, mask, limit, expires)
        return self._on_grant(write, body.model_dump(), grant_id, call)

    def freeze(self, write: WriteRequest, grant_id: int, freeze: bool) -> Answer:
        call = self.data.freeze_grant_call(grant_id) if freeze else self.data.unfreeze_grant_call(grant_id)
        return self._on_grant(write, {"grant": grant_id, "freeze": freeze}, grant_id, call)

    # ---------------------------------------------------------------- sends and answers

    def _on_request(self, write: WriteRequest, body: dict[str, object], request_id: int, call: ContractCall) -> Answer:
        with write.session(self.state, self.caller, body) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 200, self.request_answer(request_id, r))
        return w.answer

    def _on_grant(self, write: WriteRequest, body: dict[str, object], grant_id: int, call: ContractCall, *,
                  renewal: bool = False) -> Answer:
        with write.session(self.state, self.caller, body) as w:
            if (r := self._send(w, call)) is not None:
                w.done(r, 200, self.grant_answer(grant_id, r, renewal=renewal))
        return w.answer

    def _send(self, w: WriteSession, call: ContractCall) -> TxReceipt | None:
        return w.send(self.state.ledger, self.caller.signer(), call)

    @cached_property
    def gw(self) -> Gateway | None:
        return gateway_or_none(self.state)

    def request_answer(self, request_id: int, r: TxReceipt) -> AccessRequestWrite:
        """The request (and its grant) as the chain has them now."""
        req = self.data.request(request_id)
        grant: GrantPublic | None = None
        if req.grant_id:
            grant = grant_public_from_chain(self.state, self.data.grant(req.grant_id), self.gw)
        request: AccessRequestPublic = request_public(req, self.gw)
        return AccessRequestWrite(tx=tx_info(r), request=request, grant=grant)

    def grant_answer(self, grant_id: int, r: TxReceipt, *, renewal: bool = False) -> GrantWrite:
        """The grant as the chain has it now, with its pending renewal for renewals."""
        pending = self.data.renewal(grant_id) if renewal else None
        return GrantWrite(
            tx=tx_info(r),
            grant=grant_public_from_chain(self.state, self.data.grant(grant_id), self.gw),
            renewal=None if pending is None else RenewalPublic.model_validate(pending, from_attributes=True),
        )


def fetch(state: ServiceState, gw: Gateway, caller: Caller, dataset_id: int, wanted: list[str] | None,
          grant_id: int | None) -> tuple[Served, SealedData]:
    """Data under a grant (the caller's best one when ``grant_id`` is None), sealed to the caller's
    member's X25519 key; the access recorded (on chain, or in the owner's log). The answer without
    its envelope (``served.sealed`` holds it, to be spliced in as it is)."""
    state.check_chain()
    if grant_id is None:
        dataset_or_404(state, dataset_id)
        grant_id = find_grant(state, gw, caller, dataset_id, wanted)
    try:
        served = gw.serve(dataset_id, caller.account, wanted, grant_id)
    except ContractReverted as exc:  # the gateway reads the dataset first: nothing was recorded
        if exc.error_name == "DataUnknownDataset" and exc.tx_hash is None:
            raise NotFound("dataset", dataset_id) from exc
        raise
    if served.receipt is not None:
        state.catch_up(served.receipt.block_number)
    answer = SealedData.model_construct(
        dataset_id=served.dataset_id,
        grant_id=served.grant_id,
        grantee_id=served.grantee_id,
        seq=served.seq,
        rows=served.rows,
        fields=list(served.fields),
        content_hash=served.content_hash,
        payload_hash=served.payload_hash,
        tx=None if served.receipt is None else tx_info(served.receipt),
        receipt=None if served.log_receipt is None else LogReceipt.model_validate(served.log_receipt),
    )
    return served, answer
