"""One place that maps errors to RFC 9457 problem+json responses.

``LedgerError`` subclasses carry their HTTP status: 4xx for the caller's
fault, 503 when the chain is unreachable or is not the deployment's chain.
Reverts are classified by the custom error's name (a role or ownership
refusal is 403, an unknown record 404, anything else 409). Nothing ever
answers a bare 500 with a stack trace.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import ChainUnavailable, ContractReverted, LedgerError

log = logging.getLogger("api")

PROBLEM = "application/problem+json"
_FORBIDDEN = re.compile(
    r"(CannotVote|TreasurerIsBeneficiary|ContributorKindRefused|ApproverConflict|NotDatasetOwner|Not(Council|Owner|Proposer|Treasurer|Committee|Member|Authori[sz]ed|Requester|Grantee|Allowed|Department|DataGovernance|Contributor|Gateway)|Unauthori[sz]ed|MissingRole|AccessControl|SameApprover|Frozen|SelfVote|ConflictOfInterest|Inactive)"
)
_NOT_FOUND = re.compile(r"(Unknown|NotFound|Nonexistent)")
#: Names the patterns above would misread: a refusal of what was asked, not of who asks.
_EXACT = {"FundBeneficiaryNotMember": 409}


def revert_status(error_name: str) -> int:
    if error_name in _EXACT:
        return _EXACT[error_name]
    if _FORBIDDEN.search(error_name):
        return 403
    if _NOT_FOUND.search(error_name):
        return 404
    return 409


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    headers = {}
    if status in (429, 503) and "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def problem_of(exc: LedgerError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the problem+json body for a ledger error.

    A revert's body is the same whether it was caught by the pre-flight (nothing
    sent) or mined and named afterwards (``COGOV_PREFLIGHT=false``): the hash of a
    mined revert is in the ``Cogov-Tx-Hash`` header, not the body.
    """
    status = exc.http_status
    extra: dict[str, Any] = {"code": exc.code}
    if isinstance(exc, ContractReverted):
        status = revert_status(exc.error_name)
        extra["error"] = exc.error_name
        extra["args"] = {k: jsonable(v) for k, v in exc.error_args.items()}
    if "retry_after" in exc.context:
        extra["retry_after"] = exc.context["retry_after"]
    elif isinstance(exc, ChainUnavailable) or status == 503:
        extra["retry_after"] = 2
    detail = exc.message
    if isinstance(exc, ChainUnavailable):
        detail = f"the chain does not answer ({exc.reason})"  # node URLs are for the logs, never for callers
    body = {
        "type": f"urn:cogov:problem:{exc.code}",
        "title": _title(status),
        "status": status,
        "detail": detail,
        **extra,
    }
    return status, body


def install(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    async def _ledger_error(request: Request, exc: LedgerError) -> JSONResponse:
        status, body = problem_of(exc)
        if status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.url.path, status, exc.message)
        extra = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail")}
        resp = problem(status, body["title"], body["detail"], body["type"], **extra)
        if isinstance(exc, ContractReverted) and exc.tx_hash:
            resp.headers["Cogov-Tx-Hash"] = exc.tx_hash
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return problem(
            422, "Unprocessable Content", "the request is invalid", "urn:cogov:problem:validation", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        resp = problem(exc.status_code, _title(exc.status_code), str(exc.detail))
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # An unreachable or replaced chain surfaces in odd places (a view at an address
        # without code decodes nothing): name that cause, a 503, rather than a bare 500.
        svc = getattr(request.app.state, "service", None)
        if svc is not None:
            try:
                svc.check_chain()
            except LedgerError as cause:
                return await _ledger_error(request, cause)
            except Exception:  # the original error is the one to report
                pass
        # Logged with the traceback for us; the caller gets no internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal Server Error", "an unexpected error occurred; it has been logged")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, int) and abs(v) > 2**53:
        return str(v)
    return v
