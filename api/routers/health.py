"""GET /api/v1/health: chain reachability, height, chain id, deployment match, index lag.

Unauthenticated, so it says nothing an outsider should learn: never a node URL (one may carry
credentials, ``http://user:pass@node``), only how many nodes are configured and which of them
(by position in the list) the service uses now. The deployment check (chain id, genesis hash,
every contract's runtime code: the ledger's own ``check_chain`` and ``verify_code``) runs once
per block and node; every other call in that block reuses its answer, so a stream of health
probes costs the node one ``eth_blockNumber`` each.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import OnePer, StateDep
from api.state import ServiceState
from ledger.errors import ChainUnavailable, LedgerError

router = APIRouter(prefix="/api/v1", tags=["health"])


class ChainHealth(BaseModel):
    reachable: bool
    nodes: int = Field(description="How many node URLs the service is configured with (the URLs are never shown).")
    current_node: int = Field(description="Position (0-based) in that list of the node the service uses now.")
    chain_id: int | None = None
    block: int | None = None


class DeploymentHealth(BaseModel):
    manifest: bool
    matches: bool
    problem: str | None = None
    checked_at_block: int | None = Field(
        default=None, description="The block at which the chain and the contracts' code were last verified."
    )


class IndexHealth(BaseModel):
    available: bool
    last_block: int | None = None
    lag: int | None = None
    problem: str | None = None


class AccessLogHealth(BaseModel):
    """One member's access transparency log as this gateway's anchorer sees it."""

    log: int = Field(description="The log id: the dataset owner's member id.")
    size: int
    anchored: int | None = Field(description="The size of its latest checkpoint on chain (None: not read yet).")
    oldest_pending_age: float | None = Field(description="Seconds since its oldest entry not anchored yet.")
    overdue: float | None = Field(
        description="Seconds beyond the MMD plus grace: the gateway refuses that member's datasets (fail closed)."
    )
    failures: int
    last_error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    chain: ChainHealth
    deployment: DeploymentHealth
    index: IndexHealth
    access_logs: list[AccessLogHealth] = Field(default_factory=list)


@dataclass(frozen=True)
class _Verified:
    """One deployment check: at which block, on which node, and what it found."""

    block: int
    node: int
    chain_id: int | None
    problem: str | None


class _DeploymentCheck:
    """The last deployment check of one service, reused while the block and the node hold."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: _Verified | None = None

    def at(self, state: ServiceState, block: int, node: int) -> _Verified:
        with self._lock:  # concurrent probes in one block wait for one check
            last = self._last
            if last is not None and (last.block, last.node) == (block, node):
                return last
            chain_id: int | None = None
            problem: str | None = None
            try:
                chain_id = int(state.ledger.rpc("eth_chainId"), 16)
                state.check_chain(fresh=True)  # chain id and genesis hash against the manifest
                state.ledger.verify_code()  # every contract's runtime code
            except ChainUnavailable:
                problem = "chain unreachable"  # (its message names node URLs)
            except LedgerError as exc:
                problem = exc.message
            verified = _Verified(block, node, chain_id, problem)
            if problem != "chain unreachable":  # an unreachable node is asked again next time
                self._last = verified
            return verified


#: The deployment check of one service (one per ledger connection).
_check_of: OnePer[_DeploymentCheck] = OnePer(_DeploymentCheck)


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the chain does not answer"}},
    summary="Service health",
)
def health(state: StateDep) -> JSONResponse:
    ledger = state.ledger
    urls = ledger.provider.urls
    chain = ChainHealth(reachable=False, nodes=len(urls), current_node=urls.index(ledger.url))
    try:
        chain.block = ledger.block_number()
        chain.reachable = True
        chain.current_node = urls.index(ledger.url)  # after a fail-over, the node that answered
    except ChainUnavailable:
        pass
    deployment = DeploymentHealth(manifest=state.manifest is not None, matches=False)
    if state.manifest is None:
        deployment.problem = "no deployment manifest"
    elif chain.block is not None:
        verified = _check_of(state.ledger).at(state, chain.block, chain.current_node)
        chain.chain_id = verified.chain_id
        deployment.matches = verified.problem is None
        deployment.problem = verified.problem
        deployment.checked_at_block = verified.block
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
        except ChainUnavailable:
            index.problem = "chain unreachable"
        except LedgerError as exc:
            index.problem = exc.message
    gateway = getattr(state, "_data_gateway", None)  # built on first use (api/services/data.py)
    logs = [] if gateway is None else gateway.log_mode.logs.anchorer.statuses()
    access_logs = [AccessLogHealth(log=s.log_id, **{k: v for k, v in asdict(s).items() if k != "log_id"}) for s in logs]
    if not chain.reachable:
        status: Literal["ok", "degraded", "down"] = "down"
    elif deployment.matches and index.available and not any(a.overdue is not None for a in access_logs):
        status = "ok"
    else:
        status = "degraded"
    body = Health(status=status, chain=chain, deployment=deployment, index=index, access_logs=access_logs)
    return JSONResponse(body.model_dump(), status_code=503 if status == "down" else 200)
