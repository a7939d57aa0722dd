"""Signed receipts of access-log entries, and their verification against the chain.

A gateway hands the caller a receipt for each entry it appends: the entry itself,
where it went (``log``, ``index``, ``leaf_hash``), when (``time``) and the log's
maximum merge delay (``mmd``: the entry is promised to be under an anchored
checkpoint within ``time + mmd``), signed with EIP-712 typed data by one of the
log member's accounts. The domain binds the receipt to one deployment: name
"CoGov access log", version "1", the chain id and the checkpoint contract.

:func:`verify_receipt` trusts nothing the receipt or the proof says; each of its
checks is named in the answer:

* ``deployment``: the receipt names this chain and this deployment's checkpoint contract;
* ``signature``: the signature recovers an account the registry names as an account of member ``log``;
* ``leaf_hash``: ``leaf_hash`` is SHA-256(0x00 ‖ entry), and the entry states the receipt's ``time``;
* ``timeliness``: the first anchored checkpoint covering ``index`` was anchored by ``time + mmd``
  ("late" otherwise; "not yet due" while ``time + mmd`` is still ahead and nothing covers it);
* ``inclusion``: the inclusion proof (from a file or fetched) verifies against the root the chain
  anchored for the proof's tree size (never the root a proof claims).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eth_abi.abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError as SignatureInvalid
from eth_utils import keccak, to_checksum_address

from ledger.client import Ledger
from ledger.data.checkpoints import NAME as CHECKPOINTS
from ledger.data.checkpoints import AccessCheckpoints
from ledger.errors import ContractReverted, LedgerError, ValidationFailed
from ledger.keys import Signer
from ledger.membership import Registry
from ledger.translog import merkle

DOMAIN_NAME = "CoGov access log"
DOMAIN_VERSION = "1"
RECEIPT_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "AccessReceipt": [
        {"name": "log", "type": "uint64"},
        {"name": "index", "type": "uint64"},
        {"name": "leafHash", "type": "bytes32"},
        {"name": "time", "type": "uint64"},
        {"name": "mmd", "type": "uint64"},
    ],
}


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _unhex(value: Any, field: str, size: int | None = None) -> bytes:
    try:
        out = bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        raise ValidationFailed(field, "is not hex") from None
    if size is not None and len(out) != size:
        raise ValidationFailed(field, f"must be {size} bytes")
    return out


@dataclass(frozen=True)
class Receipt:
    """A signed receipt of one log entry."""

    log: int
    index: int
    leaf_hash: bytes
    entry: str
    time: int
    mmd: int
    chain_id: int
    checkpoints: str
    signer: str
    signature: bytes

    def typed_data(self) -> dict[str, Any]:
        """The EIP-712 typed data the signature is over."""
        return receipt_typed_data(self.log, self.index, self.leaf_hash, self.time, self.mmd, self.chain_id,
                                  self.checkpoints)

    def to_json(self) -> dict[str, Any]:
        return {
            "log": self.log, "index": self.index, "leaf_hash": _hex(self.leaf_hash), "entry": self.entry,
            "time": self.time, "mmd": self.mmd, "chain_id": self.chain_id, "checkpoints": self.checkpoints,
            "signer": self.signer, "signature": _hex(self.signature),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Receipt:
        """A receipt from its JSON document (ValidationFailed naming the first bad field)."""
        try:
            ints = {k: int(doc[k]) for k in ("log", "index", "time", "mmd", "chain_id")}
            entry, checkpoints, signer = str(doc["entry"]), str(doc["checkpoints"]), str(doc["signer"])
            leaf, signature = doc["leaf_hash"], doc["signature"]
        except KeyError as exc:
            raise ValidationFailed(str(exc.args[0]), "is missing") from None
        except (TypeError, ValueError):
            raise ValidationFailed("receipt", "log, index, time, mmd and chain_id must be integers") from None
        if any(v < 0 for v in ints.values()):
            raise ValidationFailed("receipt", "log, index, time, mmd and chain_id must not be negative")
        return cls(leaf_hash=_unhex(leaf, "leaf_hash", 32), entry=entry, checkpoints=checkpoints, signer=signer,
                   signature=_unhex(signature, "signature"), **ints)


def receipt_typed_data(
    log: int, index: int, leaf_hash: bytes, time: int, mmd: int, chain_id: int, checkpoints: str
) -> dict[str, Any]:
    return {
        "types": RECEIPT_TYPES,
        "primaryType": "AccessReceipt",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
                   "verifyingContract": to_checksum_address(checkpoints)},
        "message": {"log": log, "index": index, "leafHash": leaf_hash, "time": time, "mmd": mmd},
    }


_RECEIPT_TYPE_HASH = keccak(text="AccessReceipt(uint64 log,uint64 index,bytes32 leafHash,uint64 time,uint64 mmd)")


_checksummed = functools.lru_cache(maxsize=64)(to_checksum_address)


@functools.lru_cache(maxsize=64)
def _domain_separator(chain_id: int, checkpoints: str) -> bytes:
    domain = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
              "verifyingContract": to_checksum_address(checkpoints)}
    return bytes(encode_typed_data(domain, {"AccessReceipt": RECEIPT_TYPES["AccessReceipt"]}, {
        "log": 0, "index": 0, "leafHash": b"\0" * 32, "time": 0, "mmd": 0}).header)


def receipt_digest(
    log: int, index: int, leaf_hash: bytes, time: int, mmd: int, chain_id: int, checkpoints: str
) -> bytes:
    """The EIP-712 digest the receipt's signature signs, ``keccak256(0x1901 ‖ domainSeparator ‖
    hashStruct(receipt))``: :func:`receipt_typed_data`'s, computed without the generic encoder
    (the domain separator kept per deployment) — the gateway signs one per served access."""
    struct = keccak(_RECEIPT_TYPE_HASH + encode(["uint64", "uint64", "bytes32", "uint64", "uint64"],
                                                [log, index, leaf_hash, time, mmd]))
    return keccak(b"\x19\x01" + _domain_separator(chain_id, checkpoints) + struct)


def sign_receipt(
    signer: Signer, *, log: int, index: int, entry: bytes, time: int, mmd: int, chain_id: int, checkpoints: str
) -> Receipt:
    """The receipt of ``entry`` at ``index`` of log ``log``, signed by ``signer`` (an account of member ``log``)."""
    leaf = merkle.leaf_hash(entry)
    signature = signer.sign_digest(receipt_digest(log, index, leaf, time, mmd, chain_id, checkpoints))
    return Receipt(log, index, leaf, entry.decode("utf-8"), time, mmd, chain_id, _checksummed(checkpoints),
                   signer.address, signature)


def recover_signer(receipt: Receipt) -> str | None:
    """The account whose key made the receipt's signature (None if it is no signature)."""
    try:
        return str(Account.recover_message(encode_typed_data(full_message=receipt.typed_data()),
                                           signature=receipt.signature))
    except (ValueError, TypeError, BadSignature, SignatureInvalid):
        return None


# ------------------------------------------------------------------ proofs


@dataclass(frozen=True)
class InclusionProof:
    """An inclusion proof as the API serves it (``GET /api/v1/access-log/proof``)."""

    log: int
    leaf: int
    size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"log": self.log, "leaf": self.leaf, "size": self.size, "hashes": [_hex(h) for h in self.hashes]}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> InclusionProof:
        try:
            hashes = tuple(_unhex(h, "hashes", merkle.HASH_SIZE) for h in doc["hashes"])
            return cls(int(doc["log"]), int(doc["leaf"]), int(doc["size"]), hashes)
        except KeyError as exc:
            raise ValidationFailed(str(exc.args[0]), "is missing") from None
        except (TypeError, ValueError):
            raise ValidationFailed("proof", "log, leaf and size must be integers, hashes a list") from None


#: Fetches the inclusion proof of ``(log, leaf, size)`` (the CLI: from the API).
ProofFetcher = Callable[[int, int, int], InclusionProof]


# ------------------------------------------------------------------ verification

Status = Literal["pass", "fail", "pending"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class Verification:
    """Every check of one receipt, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.status == "pass" for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "fail")

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


#: Writes a unix time in a check's words (the CLI: ``cogov.output.when``; by default the number).
TimeFormat = Callable[[int], str]


def _verify_signature(receipt: Receipt, registry: Registry) -> Check:
    account = recover_signer(receipt)
    if account is None:
        return Check("signature", "fail", "the signature is malformed")
    if account.lower() != receipt.signer.lower():
        return Check("signature", "fail", f"the signature is by {account}, not the receipt's signer {receipt.signer}")
    info = registry.account_info(account)
    if info.member_id != receipt.log:
        whose = f"member {info.member_id}" if info.member_id else "no member"
        return Check("signature", "fail", f"signed by {account}, an account of {whose}, not of member {receipt.log}")
    note = "" if info.active else " (no longer active)"
    return Check("signature", "pass", f"signed by {account}, an account of member {receipt.log}{note}")


def _verify_entry(receipt: Receipt) -> Check:
    """The leaf hash is the entry's, and the entry states the receipt's time (the one ``mmd`` counts from)."""
    entry_leaf = merkle.leaf_hash(receipt.entry.encode("utf-8"))
    if entry_leaf != receipt.leaf_hash:
        return Check("leaf_hash", "fail",
                     f"the entry hashes to {_hex(entry_leaf)}, not to the receipt's {_hex(receipt.leaf_hash)}")
    try:
        stated = json.loads(receipt.entry).get("time")
    except (ValueError, AttributeError):
        stated = None
    if stated is not None and stated != receipt.time:
        return Check("leaf_hash", "fail", f"the entry states time {stated}, the receipt {receipt.time}")
    return Check("leaf_hash", "pass", f"the entry hashes to {_hex(entry_leaf)}")


def _verify_timeliness(
    receipt: Receipt, checkpoints: AccessCheckpoints, now: int, when: TimeFormat
) -> tuple[Check, int]:
    due = receipt.time + receipt.mmd
    covering = checkpoints.covering(receipt.log, receipt.index)
    if not covering.exists:
        if now < due:
            return Check("timeliness", "pending", f"not yet due: no checkpoint covers entry {receipt.index} yet, "
                                                  f"and it is due by {when(due)}"), 0
        return Check("timeliness", "fail", f"late: no checkpoint covers entry {receipt.index}, "
                                           f"due by {when(due)}"), 0
    at = f"checkpoint of size {covering.tree_size} anchored at {when(covering.anchored_at)}"
    if covering.anchored_at > due:
        return Check("timeliness", "fail", f"late: the first {at}, after the due time {when(due)}"), covering.tree_size
    return Check("timeliness", "pass", f"the first {at}, by the due time {when(due)}"), covering.tree_size


def _verify_inclusion(
    receipt: Receipt, checkpoints: AccessCheckpoints, proof: InclusionProof | None, fetch: ProofFetcher | None,
    covering_size: int,
) -> Check:
    if proof is None:
        if fetch is None or covering_size == 0:
            why = "no anchored checkpoint covers the entry" if fetch is not None else "no inclusion proof given"
            return Check("inclusion", "pending" if covering_size == 0 else "fail", why)
        try:
            proof = fetch(receipt.log, receipt.index, covering_size)
        except (LedgerError, OSError, ValueError) as exc:
            return Check("inclusion", "fail", f"the inclusion proof could not be fetched: {exc}")
    if (proof.log, proof.leaf) != (receipt.log, receipt.index):
        return Check("inclusion", "fail",
                     f"the proof is for entry {proof.leaf} of log {proof.log}, not {receipt.index} of {receipt.log}")
    try:
        anchored = checkpoints.at(receipt.log, proof.size)
    except ContractReverted:
        return Check("inclusion", "fail", f"no checkpoint of log {receipt.log} has size {proof.size}")
    if not merkle.verify_inclusion(receipt.leaf_hash, receipt.index, proof.size, proof.hashes, anchored.root_hash):
        return Check("inclusion", "fail", f"the entry's leaf is not in the tree of size {proof.size} anchored with "
                                          f"root {_hex(anchored.root_hash)}")
    return Check("inclusion", "pass", f"the entry is leaf {receipt.index} of the tree of size {proof.size} "
                                      f"anchored with root {_hex(anchored.root_hash)}")


def verify_receipt(
    receipt: Receipt, ledger: Ledger, *, proof: InclusionProof | None = None, fetch: ProofFetcher | None = None,
    now: int | None = None, when: TimeFormat = str,
) -> Verification:
    """Check ``receipt`` against the chain ``ledger`` reads; ``proof`` or ``fetch`` supply the inclusion proof,
    ``now`` is the chain's latest block time unless given."""
    checkpoints = AccessCheckpoints(ledger)
    address = ledger.contract(CHECKPOINTS).address
    chain_id = ledger.chain_id
    if receipt.chain_id != chain_id or receipt.checkpoints.lower() != address.lower():
        return Verification((Check("deployment", "fail",
                                   f"the receipt is for chain {receipt.chain_id} contract {receipt.checkpoints}, "
                                   f"this is chain {chain_id} contract {address}"),))
    checks = [Check("deployment", "pass", f"chain {chain_id}, checkpoint contract {address}")]
    checks.append(_verify_signature(receipt, Registry(ledger)))
    checks.append(_verify_entry(receipt))
    if now is None:
        now = ledger.rpc_client.latest_time()
    timeliness, covering_size = _verify_timeliness(receipt, checkpoints, now, when)
    checks.append(timeliness)
    checks.append(_verify_inclusion(receipt, checkpoints, proof, fetch, covering_size))
    return Verification(tuple(checks))
