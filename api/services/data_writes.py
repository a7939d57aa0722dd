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

from api.deps import WriteRequest
from api.documents import writer
from api.idempotency import Answer, WriteSession
from api.schemas.common import tx_info
from api.schemas.data import (
    AccessRequestCreate,
    AccessRequestPublic,
    AccessRequestWrite,
    DenyBody,
    GrantPublic,
    GrantWrite,
    RenewalPublic,
    RenewBody,
)
from api.services.data import (
    approve_call_for,
    dataset_or_404,
    grant_or_404,
    request_or_404,
    require_owner,
)
from api.services.index import CallerScoped
from ledger.client import ContractCall, TxReceipt
from ledger.data import DataSharing, scope_hash
from ledger.gateway import Gateway


class DataWrites(CallerScoped):
    """One caller's writes on access requests and grants."""

    @cached_property
    def data(self) -> DataSharing:
        return DataSharing(self.state.ledger)

    # ---------------------------------------------------------------- requests

    def create_request(self, write: WriteRequest, body: AccessRequestCreate, gw: Gateway) -> Answer:
        """Request access; the purpose is a salted commitment (the hash alone confirms no guess),
        its text kept once the chain took the request."""
        ds = dataset_or_404(self.state, body.dataset_id)
        scope = scope_hash(body.fields or list(gw.schema_fields(ds)))
        docs = writer(self.state, self.caller)
        purpose = docs.draft("purpose", body.purpose)
        call = self.data.request_access_call(body.dataset_id, body.purpose_code, purpose.hash, scope, body.duration)
        with write.session(self.state, self.caller, body.model_dump(), docs.journal([purpose])) as w:
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

    def request_answer(self, request_id: int, r: TxReceipt) -> AccessRequestWrite:
        """The request (and its grant) as the chain has them now."""
        req = self.data.request(request_id)
        grant = None
        if req.grant_id:
            grant = GrantPublic.model_validate(self.data.grant(req.grant_id), from_attributes=True)
        return AccessRequestWrite(
            tx=tx_info(r), request=AccessRequestPublic.model_validate(req, from_attributes=True), grant=grant
        )

    def grant_answer(self, grant_id: int, r: TxReceipt, *, renewal: bool = False) -> GrantWrite:
        """The grant as the chain has it now, with its pending renewal for renewals."""
        pending = self.data.renewal(grant_id) if renewal else None
        return GrantWrite(
            tx=tx_info(r),
            grant=GrantPublic.model_validate(self.data.grant(grant_id), from_attributes=True),
            renewal=None if pending is None else RenewalPublic.model_validate(pending, from_attributes=True),
        )
