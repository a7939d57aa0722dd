"""One place that maps errors to RFC 9457 problem+json responses.

The library's errors know nothing of HTTP. :data:`STATUS` gives each error class
its status (the most specific class listed wins): 4xx for the caller's fault, 503
when the chain is unreachable or is not the deployment's chain, 500 for the rest.
A revert's status comes from the custom error's name (:data:`REVERT_STATUS`: a
refusal of who asks is 403, an unknown record 404, any other refusal 409); a test
(tests/api/test_problems.py) walks every custom error of every product ABI and
fails when one has no entry. Nothing ever answers a bare 500 with a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    AccessDenied,
    ChainMismatch,
    ChainUnavailable,
    Conflict,
    ContractReverted,
    DeploymentMismatch,
    GatewayIntegrityError,
    GatewayUnavailable,
    IndexUnavailable,
    IntegrityError,
    LedgerError,
    NotDeployed,
    NotFound,
    QuotaExceeded,
    TextsTooLarge,
    TransactionFailed,
    Unauthenticated,
    ValidationFailed,
)

log = logging.getLogger("api")

PROBLEM = "application/problem+json"


class TooManyRequests(LedgerError):
    """The caller's rate limit is used up (the API's own refusal; nothing of the library raises it)."""

    code = "rate-limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after}s", retry_after=retry_after)
        self.retry_after = retry_after


#: The HTTP status of each error class; a class not listed has its nearest listed base's.
STATUS: dict[type[LedgerError], int] = {
    LedgerError: 500,  # ConfigError, KeystoreError, ArtifactMismatch, CompileError, NetworkError, ...
    ValidationFailed: 422,
    Unauthenticated: 401,
    AccessDenied: 403,
    NotFound: 404,
    Conflict: 409,
    ContractReverted: 409,  # refined by the custom error's name: REVERT_STATUS
    IntegrityError: 422,
    GatewayIntegrityError: 500,  # our stored copy failed, not the caller's input
    QuotaExceeded: 429,  # the number of texts (TooManyTexts)
    TextsTooLarge: 413,
    TooManyRequests: 429,
    ChainUnavailable: 503,
    ChainMismatch: 503,
    DeploymentMismatch: 503,
    NotDeployed: 503,
    TransactionFailed: 503,
    IndexUnavailable: 503,
    GatewayUnavailable: 503,
}

#: Custom errors that refuse who asks (a role, an ownership, a conflict of interest): 403.
_FORBIDDEN = (
    # CaseNotOverdue: only the raiser escalates a case that is not overdue (anyone, an overdue one)
    "CaseMissingRole", "CaseNotChannel", "CaseNotNamed", "CaseNotOverdue", "CaseNotRaiser", "CreditNotTreasurer",
    "CheckpointMissingRole", "CheckpointOwnLog",
    "DataApproverConflict", "DataMissingRole", "DataNotDatasetOwner", "DataNotGrantParty", "DataNotRequester",
    "DataRenewalApproverConflict", "DataRenewalSameApprover", "DataSameApprover", "FundBeneficiaryCannotVote",
    "FundContributorKindRefused", "FundNotCommittee", "FundNotContributor", "FundNotMember", "FundNotProposer",
    "FundNotTreasurer", "FundProposerCannotVote", "FundTreasurerIsBeneficiary", "RegistryMemberInactive",
    "RegistryNotCouncil", "RegistryNotProposer",
)
#: Custom errors naming a record that does not exist: 404.
_NOT_FOUND = (
    "CaseUnknownCase", "CaseUnknownCategory", "CaseUnknownMember", "CaseUnknownProposal", "DataUnknownBatch",
    "CheckpointUnknown", "DataUnknownDataset", "DataUnknownGrant", "DataUnknownMember", "DataUnknownRequest",
    "FundUnknownMilestone", "FundUnknownMotion", "FundUnknownProject", "FundUnknownReceipt",
    "RegistryUnknownMember", "RegistryUnknownNode", "RegistryUnknownProposal",
)
#: Custom errors refusing what is asked in the current state: 409.
_CONFLICT = tuple(
    """
    CaseAlreadyAcknowledged CaseAlreadyAnswered CaseAlreadyApproved CaseDuplicateDepartment
    CaseInvalidServiceLevel CaseInvalidWindow CaseLimitReached CaseNotAcknowledged CaseNotDepartment
    CaseProposalNotOpen CaseSatisfactionRecorded CaseSatisfactionWindowClosed CaseSelfResponsible
    CaseTooManyDepartments CaseWrongState CaseZeroAddress CaseZeroArea CaseZeroReference
    CheckpointAlreadyCosigned CheckpointRootMismatch CheckpointSizeNotIncreasing CheckpointTimestampBeforeLatest
    CheckpointTimestampInFuture CheckpointZeroRoot
    CreditDepositAlreadyRecorded CreditRedemptionAlreadyRecorded CreditZeroAmount CreditZeroReference
    DataAccessLimitReached DataAlreadyApproved DataContentHashTaken DataEmptyBatch DataFieldsOutOfScope
    DataGovernanceNotRequired DataGrantClosed
    DataGrantDatasetMismatch DataGrantFreezeUnchanged DataGrantNotActive DataGrantNotRenewable
    DataInvalidBatchWindow DataInvalidDuration DataInvalidFieldCount DataInvalidFieldMask DataInvalidRequestTtl
    DataInvalidTitle DataMemberFreezeUnchanged
    DataNoRenewalPending DataRenewalMismatch DataRequestNotOpen DataRequesterIsOwner DataTermsNotNarrower
    DataUnknownPurpose DataZeroAttempts
    DataZeroHash ERC20InsufficientAllowance ERC20InsufficientBalance ERC20InvalidApprover ERC20InvalidReceiver
    ERC20InvalidSender ERC20InvalidSpender FundAllocationExceedsBudget FundAlreadyRefunded FundAlreadyVoted
    FundBeneficiaryNotMember
    FundBudgetMismatch FundExceedsAvailable FundExceedsMilestone FundInsufficientPool FundInvalidMilestoneCount
    FundInvalidQuorum FundInvalidVotingPeriod FundMotionNotOpen FundMotionPending FundNotRefundable
    FundNothingToRefund FundProjectClosed FundProjectNotActive FundProjectNotApproved
    FundProjectNotOpenForFunding FundProjectStillOpen FundTimeLocked FundTransferShortfall FundZeroAddress
    FundZeroAmount FundZeroBeneficiary FundZeroMilestone FundZeroReference ReentrancyGuardReentrantCall
    RegistryAccountNotOfMember RegistryAccountTaken RegistryAlreadyApproved RegistryCouncilBelowThreshold
    RegistryEmptyName RegistryInvalidChange RegistryInvalidLifetime RegistryInvalidThreshold RegistryLastAccount
    RegistryNodeTaken RegistryProposalNotOpen RegistryRoleUnchanged RegistryThresholdNotMet RegistryZeroAccount
    SafeERC20FailedOperation
    """.split()  # noqa: SIM905 (a list of words, read as words)
)
#: Names the ledger gives reverts that are no custom error of ours (Solidity's built-ins, a revert
#: without data, a mined revert the pre-flight did not name). UnknownRevert stays 404, as the
#: name-matching rule this map replaced classified it.
NOT_CUSTOM = {"Error": 409, "Panic": 409, "TransactionReverted": 409, "UnknownRevert": 404,
              "OutOfGas": 409}  # its cost grew under it (another write came first): nothing happened, send again

#: The status of a revert by its custom error's name; a name of no product contract is a 409.
REVERT_STATUS: dict[str, int] = {
    **dict.fromkeys(_CONFLICT, 409),
    **dict.fromkeys(_FORBIDDEN, 403),
    **dict.fromkeys(_NOT_FOUND, 404),
    **NOT_CUSTOM,
}


def revert_status(error_name: str) -> int:
    return REVERT_STATUS.get(error_name, 409)


def class_status(cls: type[LedgerError]) -> int:
    """The status of an error class: its own entry in :data:`STATUS`, else its nearest base's."""
    return next(STATUS[c] for c in cls.__mro__ if c in STATUS)


def status_of(exc: LedgerError) -> int:
    """The HTTP status of ``exc``: its custom error's for a revert, else its class's."""
    if isinstance(exc, ContractReverted):
        return revert_status(exc.error_name)
    return class_status(type(exc))


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
    status = status_of(exc)
    extra: dict[str, Any] = {"code": exc.code}
    if isinstance(exc, ContractReverted):
        extra["error"] = exc.error_name
        extra["args"] = {k: jsonable(v) for k, v in exc.error_args.items()}
    if isinstance(exc, AccessDenied) and "log_entry" in exc.context:  # the refusal's entry in the access log
        extra["log_entry"] = exc.context["log_entry"]
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
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if "portal" in getattr(request.scope.get("route"), "tags", ()):  # a page: told in the page's words
            from api.portal.pages import bad_request

            return bad_request(request, request.app.state.service)
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
