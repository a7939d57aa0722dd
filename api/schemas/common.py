"""Schemas shared by every router."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from ledger.tx.receipts import TxReceipt

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _address(v: str) -> str:
    if not isinstance(v, str) or not is_address(v):
        raise ValueError("not an Ethereum address (0x + 40 hex digits)")
    if v != v.lower() and v != v.upper()[:2].lower() + v[2:].upper() and v != to_checksum_address(v):
        raise ValueError("mixed-case address with a wrong EIP-55 checksum")
    return str(to_checksum_address(v))


def _bytes32(v: str) -> str:
    s = v[2:] if v.startswith("0x") else v
    if len(s) != 64:
        raise ValueError("expected 32 bytes as 0x + 64 hex digits")
    try:
        bytes.fromhex(s)
    except ValueError as exc:
        raise ValueError("not hex") from exc
    return "0x" + s.lower()


Address = Annotated[
    str,
    Field(min_length=40, max_length=42, examples=["0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"]),
    AfterValidator(_address),
]
Bytes32 = Annotated[str, Field(min_length=64, max_length=66, examples=["0x" + "ab" * 32]), AfterValidator(_bytes32)]
Uint64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
PositiveUint64 = Annotated[int, Field(ge=1, le=2**64 - 1)]


def hex_of(v: object) -> object:
    """A record's ``bytes`` as ``0x`` hex (what the API shows of a hash), for ``BeforeValidator``."""
    return "0x" + v.hex() if isinstance(v, bytes | bytearray) else v


def name_of(v: object) -> object:
    """A record's enum as its lower-case name (``GrantState.ACTIVE`` -> ``"active"``), for ``BeforeValidator``;
    a sequence of enums as their names."""
    if isinstance(v, Enum):
        return v.name.lower()
    if isinstance(v, tuple):
        return [name_of(x) for x in v]
    return v


def hex_or_none(v: object) -> object:
    """A record's hash as ``0x`` hex, the zero hash (none given) as None, for ``BeforeValidator``."""
    return None if isinstance(v, bytes | bytearray) and not any(v) else hex_of(v)


#: A record's hash, read by ``Model.model_validate(record, from_attributes=True)``.
Hash = Annotated[str, BeforeValidator(hex_of)]
#: The ``model_config`` of a schema read from a ledger record.
FROM_RECORD = ConfigDict(from_attributes=True)


def exactly_one(text: str, hash_: str) -> Any:  # pydantic's decorator proxy is typed Any
    """A ``model_validator`` refusing a model unless exactly one of its fields ``text`` (a text
    kept off chain) and ``hash_`` (a file's keccak256) is given: ``_one = exactly_one("a", "a_hash")``."""

    def check(model: M) -> M:
        if (getattr(model, text) is None) == (getattr(model, hash_) is None):
            raise ValueError(f"give exactly one of {text} (text) or {hash_}")
        return model

    return model_validator(mode="after")(check)


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Total matching records (before pagination).")


class TxInfo(BaseModel):
    tx_hash: str
    block_number: int
    gas_used: int


def tx_info(receipt: TxReceipt) -> TxInfo:
    """Where a write landed, from its receipt."""
    return TxInfo.model_validate(receipt, from_attributes=True)


class ValidationIssue(BaseModel):
    loc: list[str] = Field(description="Where: the part of the request, then the field (`query`, `since`).")
    msg: str
    type: str


class Problem(BaseModel):
    """Every error answer (RFC 9457, ``application/problem+json``); api/problems.py builds them."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`urn:cogov:problem:<code>`, or `about:blank`.")
    title: str
    status: int
    detail: str
    code: str | None = Field(default=None, description="The ledger's error code (`access-denied`, ...).")
    error: str | None = Field(default=None, description="A contract's custom error, by name.")
    args: dict[str, Any] | None = Field(default=None, description="The custom error's arguments.")
    errors: list[ValidationIssue] | None = Field(default=None, description="What is invalid (422).")
    retry_after: int | None = Field(default=None, description="Seconds to wait (429, 503; also `Retry-After`).")
