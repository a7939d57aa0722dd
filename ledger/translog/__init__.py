"""The access transparency log: an RFC 9162 Merkle log per gateway member, its proofs and receipts."""

from ledger.translog.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.translog.store import Appended, LogReader, TransparencyLog

__all__ = ["Appended", "LogReader", "TransparencyLog", "leaf_hash", "verify_consistency", "verify_inclusion"]
