"""Where a transaction is: pending, mined, confirmed or failed (why). The API's
``GET /api/v1/tx/{hash}`` and the member console's live status both answer from here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.problems import jsonable, problem_of
from api.schemas.tx import EventPublic, TxProblem, TxStatusPublic
from api.state import ServiceState
from ledger.errors import LedgerError, NotFound


def tx_status(state: ServiceState, tx_hash: str) -> TxStatusPublic:
    """The status of ``tx_hash``. A transaction this service answered 202 for and the node has lost
    is sent again (the same signed bytes) and reported `pending`; neither knowing it: NotFound."""
    tx_hash = tx_hash.lower()
    st = state.ledger.status(tx_hash)
    if st.state == "unknown":
        signed = state.sent(tx_hash)
        if signed is None:
            raise NotFound("transaction", tx_hash)
        # Answered 202 by this service, and the node lost it (a restart, a fail-over): the same bytes again.
        state.ledger.rebroadcast(signed)
        st = state.ledger.status(tx_hash)
        if st.state == "unknown":
            raise NotFound("transaction", tx_hash)
    problem: TxProblem | None = None
    if st.state == "failed":
        err = st.error if isinstance(st.error, LedgerError) else None
        if err is not None:
            _, body = problem_of(err)
            problem = TxProblem.model_validate({k: body.get(k) for k in TxProblem.model_fields})
    if st.state == "confirmed" and st.block_number is not None:
        state.catch_up(st.block_number)  # reads after this see the write
    return TxStatusPublic(
        tx_hash=st.tx_hash,
        status=st.state,  # type: ignore[arg-type]
        block_number=st.block_number,
        block_hash=st.block_hash,
        confirmations=st.confirmations,
        required_confirmations=st.required_confirmations,
        confirmed=st.state == "confirmed",
        gas_used=st.gas_used,
        events=[
            EventPublic(contract=e.contract, name=e.name, args=_args(e.args), log_index=e.log_index)
            for e in st.events
        ],
        problem=problem,
    )


def _args(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: [jsonable(x) for x in v] if isinstance(v, list | tuple) else jsonable(v) for k, v in args.items()}
