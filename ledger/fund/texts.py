"""The off-chain texts' kinds and hashes, where each goes on chain, and the value types of the
text store (:mod:`ledger.fund.docs`): drafts, stored documents, quotas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eth_utils import keccak

from ledger.abi import hex_of
from ledger.commitment import Opening, commit
from ledger.errors import ValidationFailed
from ledger.events import Event

DocKind = Literal[
    "title", "milestone", "memo", "invoice", "deposit", "redemption", "purpose", "case", "case_public", "evidence"
]
KINDS: tuple[str, ...] = (
    "title", "milestone", "memo", "invoice", "deposit", "redemption", "purpose", "case", "case_public", "evidence"
)
#: Texts public by design: hashed without a salt, shown on the portal (a case's description
#: when the raising sub-district marked it public: the flag is the kind of its row).
PUBLIC_KINDS: frozenset[str] = frozenset({"title", "milestone", "case_public"})
#: References the token accepts once each: salted with a keyed (deterministic) salt.
REFERENCE_KINDS: frozenset[str] = frozenset({"deposit", "redemption"})
ZERO_HASH = b"\x00" * 32


def doc_hash(text: str) -> bytes:
    """keccak256 of the UTF-8 bytes of ``text`` (what the chain records for a public text)."""
    return keccak(text.encode("utf-8"))


def file_hash(data: bytes) -> bytes:
    """keccak256 of a file's exact bytes (an invoice or receipt scan)."""
    return keccak(data)


def parse_hash(value: str) -> bytes:
    """A ``0x`` + 64 hex digits string as 32 bytes."""
    s = value[2:] if value.startswith(("0x", "0X")) else value
    try:
        raw = bytes.fromhex(s)
    except ValueError as exc:
        raise ValidationFailed("hash", "not hex") from exc
    if len(raw) != 32:
        raise ValidationFailed("hash", "expected 32 bytes (0x + 64 hex digits)")
    return raw


# ------------------------------------------------------------------ where each kind goes on chain


@dataclass(frozen=True)
class OnChain:
    """The event that records a kind's hash, and the arguments that name its record."""

    contract: str
    event: str
    hash_arg: str
    record_args: tuple[str, ...]


ON_CHAIN: Mapping[str, OnChain] = {
    "title": OnChain("CoGovFund", "ProjectProposed", "titleHash", ("projectId",)),
    "milestone": OnChain("CoGovFund", "MilestoneDefined", "descriptionHash", ("projectId", "index")),
    "memo": OnChain("CoGovFund", "ContributionReceived", "memoHash", ("receiptId", "memberId")),
    "invoice": OnChain("CoGovFund", "PayoutMade", "invoiceHash", ("payoutId", "projectId", "beneficiary")),
    "deposit": OnChain("CommunityCredit", "CreditMinted", "depositRef", ("to",)),
    "redemption": OnChain("CommunityCredit", "CreditBurned", "redemptionRef", ("holder",)),
    "purpose": OnChain("DataSharing", "AccessRequested", "purposeHash", ("requestId", "datasetId", "requesterId")),
    "case": OnChain("CaseDesk", "CaseRaised", "descriptionHash", ("caseId", "raiserId")),
    "case_public": OnChain("CaseDesk", "CaseRaised", "descriptionHash", ("caseId", "raiserId")),
    "evidence": OnChain("CaseDesk", "CaseAnswered", "evidenceHash", ("caseId", "memberId")),
}


#: Where :meth:`DocStore.export` writes each kind: a folder and the record's ids naming the file
#: (none: the hash names it), as the auditor's document check reads them.
EXPORT_FOLDERS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "title": ("projects", ("projectId",)),
    "milestone": ("milestones", ("projectId", "index")),
    "memo": ("receipts", ("receiptId",)),
    "invoice": ("invoices", ("payoutId",)),
    "deposit": ("deposits", ()),
    "redemption": ("redemptions", ()),
    "purpose": ("purposes", ("requestId",)),
    "case": ("cases", ("caseId",)),
    "case_public": ("cases", ("caseId",)),
    "evidence": ("evidence", ()),  # a department answers a case once per dispatch or reopening
}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool | str):
        return value
    return int(value)


def record_of(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The record (its ids) a text of ``kind`` belongs to, from its event's arguments."""
    return {a: _plain(args[a]) for a in ON_CHAIN[kind].record_args}


def records_in(events: Iterable[Event]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(kind, hash, record)`` for every document hash the decoded ``events`` carry."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for e in events:
        for kind, spec in ON_CHAIN.items():
            if e.contract != spec.contract or e.name != spec.event:
                continue
            value = e.args.get(spec.hash_arg)
            h = _plain(value) if value is not None else None
            if not isinstance(h, str) or int(h, 16) == 0:
                continue
            out.append((kind, h.lower(), record_of(kind, e.args)))
    return out


# ------------------------------------------------------------------ drafts and documents


def reference_key(master_key: bytes) -> bytes:
    """The key of the keyed salts of deposit and redemption references (HKDF-SHA256 of the master key)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cogov/reference-commitment/v1").derive(
        master_key
    )


@dataclass(frozen=True)
class Draft:
    """A text ready to go on chain: its kind, and its salt (None for a public text)."""

    kind: str
    text: str
    salt: bytes | None

    @property
    def hash(self) -> bytes:
        return doc_hash(self.text) if self.salt is None else commit(self.text, self.salt)

    @property
    def hash_hex(self) -> str:
        return hex_of(self.hash)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


@dataclass(frozen=True)
class Document:
    """A stored text: its hash, kind and (for a salted text) salt; where it stands."""

    hash: str
    kind: str
    text: str
    salt: str | None
    state: str
    tx_hash: str | None = None
    record: Mapping[str, Any] | None = None

    @property
    def opening(self) -> Opening | None:
        """The opening ``{"salt", "text"}`` of a salted text (None for a public one)."""
        return None if self.salt is None else Opening(self.text, bytes.fromhex(self.salt[2:]))

    def verifies(self) -> bool:
        """True if the text (with its salt) hashes to :attr:`hash`."""
        if self.salt is None:
            return hex_of(doc_hash(self.text)) == self.hash
        opening = self.opening
        return opening is not None and opening.opens(self.hash)


@dataclass(frozen=True)
class Quota:
    """Most rows and UTF-8 bytes one scope may store (0: no limit)."""

    count: int = 0
    bytes: int = 0

