"""GET /api/v1/health: chain reachability, height, chain id, deployment match, index lag."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import StateDep
from ledger.errors import ChainUnavailable, LedgerError

router = APIRouter(prefix="/api/v1", tags=["health"])


class ChainHealth(BaseModel):
    reachable: bool
    url: str
    chain_id: int | None = None
    block: int | None = None


class DeploymentHealth(BaseModel):
    manifest: bool
    matches: bool
    problem: str | None = None


class IndexHealth(BaseModel):
    available: bool
    last_block: int | None = None
    lag: int | None = None
    problem: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    chain: ChainHealth
    deployment: DeploymentHealth
    index: IndexHealth


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the chain does not answer"}},
    summary="Service health",
)
def health(state: StateDep) -> JSONResponse:
    ledger = state.ledger
    chain = ChainHealth(reachable=False, url=ledger.url)
    try:
        chain.block = ledger.block_number()
        chain.chain_id = int(ledger.rpc("eth_chainId"), 16)
        chain.reachable = True
    except ChainUnavailable:
        pass
    deployment = DeploymentHealth(manifest=state.manifest is not None, matches=False)
    if state.manifest is None:
        deployment.problem = "no deployment manifest"
    elif chain.reachable:
        try:
            state.check_chain(fresh=True)  # health always asks the node (writes reuse a recent check)
            ledger.verify_code()
            deployment.matches = True
        except LedgerError as exc:
            deployment.problem = exc.message
    else:
        deployment.problem = "chain unreachable"
    index = IndexHealth(available=False)
    if state.index is None:
        index.problem = "index not started (no deployment)"
    else:
        try:
            h = state.index.health()
            index.available = bool(h.ok)
            index.problem = h.reason
            index.last_block = h.last_block
            if chain.block is not None and index.last_block is not None:
                index.lag = max(0, chain.block - index.last_block)
        except LedgerError as exc:
            index.problem = exc.message
    if not chain.reachable:
        status: Literal["ok", "degraded", "down"] = "down"
    elif deployment.matches and index.available:
        status = "ok"
    else:
        status = "degraded"
    body = Health(status=status, chain=chain, deployment=deployment, index=index)
    return JSONResponse(body.model_dump(), status_code=503 if status == "down" else 200)
