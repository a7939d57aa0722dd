"""The problem table: a status for every error class, and for every custom error of every product ABI."""

from __future__ import annotations

import inspect
import json

import pytest

from api.problems import NOT_CUSTOM, REVERT_STATUS, TooManyRequests, class_status, revert_status, status_of
from ledger import errors
from ledger.artifacts import ARTIFACTS_DIR
from ledger.errors import ContractReverted, LedgerError, OutOfGas, TextsTooLarge, TooManyTexts
from ledger.index import IndexChainMismatch

#: Each class's status as it was when the classes carried it themselves (issue 15 moved it here).
STATUS_BEFORE = {
    "LedgerError": 500, "ConfigError": 500, "SchemaBehind": 500, "GethUnavailable": 500, "ValidationFailed": 422,
    "ChainUnavailable": 503, "PortTaken": 500, "NotADevChain": 500, "NetworkError": 500,
    "SignerSyncRefused": 500, "ChainMismatch": 503, "DeploymentMismatch": 503, "NotDeployed": 503,
    "ArtifactMismatch": 500, "CompileError": 500, "KeystoreError": 500, "ContractReverted": 409,
    "TransactionFailed": 503, "NonceSuperseded": 503, "AccessDenied": 403, "Unauthenticated": 401,
    "NotFound": 404, "Conflict": 409, "IntegrityError": 422, "GatewayIntegrityError": 500,
    "GatewayUnavailable": 503, "QuotaExceeded": 429, "TooManyTexts": 429, "TextsTooLarge": 413,
    "IndexUnavailable": 503, "RpcError": 500, "IndexChainMismatch": 503, "AnchoringOverdue": 503, "LogLocked": 409,
    "OutOfGas": 409,
}


def _error_classes() -> list[type[LedgerError]]:
    return [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, LedgerError)]


def _product_custom_errors() -> dict[str, list[str]]:
    """Custom error name -> the product contracts (ledger/artifacts) declaring it."""
    found: dict[str, list[str]] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        if path.name.startswith("_"):
            continue
        for item in json.loads(path.read_text(encoding="utf-8"))["abi"]:
            if item.get("type") == "error":
                found.setdefault(item["name"], []).append(path.stem)
    return found


def test_every_error_class_is_declared_in_errors_and_keeps_its_status() -> None:
    classes = {c.__name__: c for c in _error_classes()}
    assert set(classes) == set(STATUS_BEFORE)
    assert {name: class_status(c) for name, c in classes.items()} == STATUS_BEFORE
    assert class_status(IndexChainMismatch) == 503 and class_status(TooManyRequests) == 429


def test_a_write_out_of_gas_in_its_block_is_a_409_that_changed_nothing() -> None:
    exc = OutOfGas("0x" + "ab" * 32, 74_572)
    assert status_of(exc) == 409 and isinstance(exc, ContractReverted) and exc.error_name == "OutOfGas"
    assert "ran out of its 74,572 gas and changed nothing" in exc.message and exc.code == "out-of-gas"


def test_quota_statuses() -> None:
    assert status_of(TooManyTexts(2, 2, 1)) == 429
    assert status_of(TextsTooLarge(100, 90, 20)) == 413


def test_every_custom_error_of_a_product_abi_has_a_status() -> None:
    declared = _product_custom_errors()
    missing = sorted(declared.keys() - REVERT_STATUS.keys())
    assert not missing, (
        "custom errors without an HTTP status: add each to api/problems.py "
        "(_FORBIDDEN: refuses who asks, 403; _NOT_FOUND: an unknown record, 404; _CONFLICT: the rest, 409):\n"
        + "\n".join(f'    "{name}",  # {", ".join(declared[name])}' for name in missing)
    )


def test_no_status_for_a_custom_error_no_product_contract_declares() -> None:
    declared = _product_custom_errors()
    stale = sorted(REVERT_STATUS.keys() - declared.keys() - NOT_CUSTOM.keys())
    assert not stale, f"remove from api/problems.py: {stale}"
    assert len(REVERT_STATUS) == len(declared) + len(NOT_CUSTOM)  # no name in two groups


@pytest.mark.parametrize(
    ("name", "status"),
    [("FundNotTreasurer", 403), ("RegistryMemberInactive", 403), ("DataUnknownGrant", 404),
     ("FundBeneficiaryNotMember", 409), ("FundTimeLocked", 409), ("UnknownRevert", 404), ("Panic", 409),
     ("SomeTestContractError", 409), ("CaseNotNamed", 403), ("CaseNotOverdue", 403), ("CaseUnknownCase", 404),
     ("CaseWrongState", 409)],
)
def test_revert_statuses(name: str, status: int) -> None:
    assert revert_status(name) == status
