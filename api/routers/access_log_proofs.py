"""/api/v1/access-log/{proof,consistency,checkpoint,entries}: the transparency logs' proofs and heads.

Any API key may ask for proofs and tree heads (hashes only); entries name who accessed
what, so only the log's own member and auditors may read them. The service is
``api/services/access_log_proofs.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentCaller, CurrentKey, StateDep
from api.schemas.access_log_proofs import ConsistencyProofPublic, InclusionProofPublic, LogCheckpoint, LogEntryList
from api.services import access_log_proofs as svc

router = APIRouter(prefix="/api/v1/access-log", tags=["access log"])

LogId = Annotated[int, Query(ge=1, le=2**63 - 1, description="The log: the dataset owner member's id.")]
Size = Annotated[int, Query(ge=0, le=2**63 - 1)]


@router.get("/proof", response_model=InclusionProofPublic, summary="Inclusion proof of one entry")
def inclusion_proof(
    state: StateDep, _key: CurrentKey, log: LogId, leaf: Size,
    size: Annotated[int, Query(ge=1, le=2**63 - 1, description="The tree size (an anchored checkpoint's).")],
) -> InclusionProofPublic:
    return svc.inclusion(state, log, leaf, size)


@router.get("/consistency", response_model=ConsistencyProofPublic, summary="Consistency proof of two tree sizes")
def consistency_proof(
    state: StateDep, _key: CurrentKey, log: LogId, first: Size, second: Size
) -> ConsistencyProofPublic:
    return svc.consistency(state, log, first, second)


@router.get("/checkpoint", response_model=LogCheckpoint, summary="The latest local tree head and anchored checkpoint")
def checkpoint(state: StateDep, _key: CurrentKey, log: LogId) -> LogCheckpoint:
    return svc.checkpoint(state, log)


@router.get("/entries", response_model=LogEntryList, summary="Entries of a log (its member and auditors only)")
def entries(
    state: StateDep, caller: CurrentCaller, log: LogId, start: Size = 0,
    end: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Exclusive; at most 1000 entries a page.")] = None,
) -> LogEntryList:
    return svc.entries(state, caller, log, start, end)
