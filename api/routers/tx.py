"""GET /api/v1/tx/{hash}: where a transaction is (for writes answered 202 with ``Prefer: respond-async``).

Any valid API key may read any transaction's status: everything in it (block,
confirmations, decoded events, the decoded revert) is public on the chain already,
and a write's caller is not the only one who may need to follow it (an operator, an
auditor). The caller who sent it gets the same answer.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentKey, StateDep
from api.params import TxHash
from api.schemas.common import Problem
from api.schemas.tx import TxStatusPublic
from api.services.tx import tx_status as tx_status_of

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
    out = tx_status_of(state, tx_hash)
    headers = {"Retry-After": "1"} if out.status in ("pending", "mined") else {}
    return JSONResponse(out.model_dump(mode="json"), headers=headers)
