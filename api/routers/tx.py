"""GET /api/v1/tx/{hash}: where a transaction is (for writes answered 202 with ``Prefer: respond-async``).

Any valid API key may read any transaction's status: everything in it (block,
confirmations, decoded events, the decoded revert) is public on the chain already,
and a write's caller is not the only one who may need to follow it (an operator, an
auditor). The caller who sent it gets the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentKey, StateDep
from api.params import TxHash
from api.problems import jsonable, problem_of
from api.schemas.common import Problem
from api.schemas.tx import EventPublic, TxProblem, TxStatusPublic
from ledger.errors import LedgerError, NotFound

router = APIRouter(prefix="/api/v1/tx", tags=["transactions"])


@router.get(
    "/{tx_hash}",
    response_model=TxStatusPublic,
    summary="A transaction's status: pending, mined, confirmed (at the configured depth) or failed (why)",
    responses={404: {"model": Problem, "description": "Neither the node nor this service knows the transaction"}},
)
def tx_status(tx_hash: TxHash, state: StateDep, _key: CurrentKey) -> JSONResponse:
    """Any valid API key may read any transaction's status (all of it is public on the chain).

    `pending` and `mined` answers carry `Retry-After: 1`. A transaction this service answered
    202 for and the node has lost is sent again (the same signed bytes) and reported `pending`.
    """
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
    out = TxStatusPublic(
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
    headers = {"Retry-After": "1"} if st.state in ("pending", "mined") else {}
    return JSONResponse(out.model_dump(mode="json"), headers=headers)


def _args(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: [jsonable(x) for x in v] if isinstance(v, list | tuple) else jsonable(v) for k, v in args.items()}
