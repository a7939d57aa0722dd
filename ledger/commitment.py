"""Salted commitments to short texts whose hash goes on chain.

A short free text (an access request's purpose, a contribution's memo, a deposit
reference) hashed on its own can be confirmed by guessing: anyone who suspects the
text hashes the guess and compares. So the chain records a *commitment* instead:

    commitment = keccak256(salt ‖ utf8(text))      salt: 32 random bytes

The salt is kept with the text off chain (the service database; an auditor's
document folder). Whoever holds both can *open* the commitment and prove the
text; whoever holds only the chain learns nothing from the hash.

An opening travels as a small JSON document (:meth:`Opening.to_json`)::

    {"salt": "0x<64 hex>", "text": "..."}

which is also the form the auditor reads from a document folder: a file that
parses as an opening is checked with :func:`commit`, any other file by the
keccak256 of its bytes.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from eth_utils import keccak

from ledger.errors import ValidationFailed

SALT_BYTES = 32


def new_salt() -> bytes:
    """32 bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(SALT_BYTES)


def commit(text: str, salt: bytes) -> bytes:
    """``keccak256(salt ‖ utf8(text))``: what the chain records for ``text``."""
    if len(salt) != SALT_BYTES:
        raise ValidationFailed("salt", f"must be {SALT_BYTES} bytes")
    return keccak(salt + text.encode("utf-8"))


@dataclass(frozen=True)
class Opening:
    """A text and the salt that opens its commitment."""

    text: str
    salt: bytes

    @classmethod
    def new(cls, text: str) -> Opening:
        """Commit to ``text`` with a fresh salt."""
        return cls(text, new_salt())

    @property
    def commitment(self) -> bytes:
        return commit(self.text, self.salt)

    @property
    def commitment_hex(self) -> str:
        return "0x" + self.commitment.hex()

    def opens(self, commitment: bytes | str) -> bool:
        """True if this opening is the one behind ``commitment``."""
        if isinstance(commitment, str):
            s = commitment[2:] if commitment.startswith(("0x", "0X")) else commitment
            try:
                commitment = bytes.fromhex(s)
            except ValueError:
                return False
        return self.commitment == commitment

    def to_json(self) -> bytes:
        """The canonical JSON document of this opening (sorted keys, UTF-8, no spaces)."""
        doc = {"salt": "0x" + self.salt.hex(), "text": self.text}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | str) -> Opening:
        """Parse an opening document; :class:`ValidationFailed` if it is not one."""
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed("opening", "not JSON") from exc
        if not isinstance(doc, dict) or set(doc) != {"salt", "text"}:
            raise ValidationFailed("opening", 'expected exactly the keys "salt" and "text"')
        salt, text = doc["salt"], doc["text"]
        if not isinstance(text, str) or not isinstance(salt, str) or not salt.startswith("0x"):
            raise ValidationFailed("opening", "salt must be 0x-hex and text a string")
        try:
            raw = bytes.fromhex(salt[2:])
        except ValueError as exc:
            raise ValidationFailed("opening", "salt is not hex") from exc
        if len(raw) != SALT_BYTES:
            raise ValidationFailed("opening", f"salt must be {SALT_BYTES} bytes")
        return cls(text, raw)

    @classmethod
    def try_parse(cls, data: bytes) -> Opening | None:
        """The opening in ``data``, or None when ``data`` is not an opening document."""
        try:
            return cls.from_json(data)
        except ValidationFailed:
            return None
