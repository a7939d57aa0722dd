"""Encrypted JSON keystores and local signing.

Every ledger transaction is signed here, with eth-account (coincurve makes it
fast), from an encrypted keystore (the standard Web3 Secret Storage format).
Node-side unlocked accounts are never used, except to fund new keys on the
development chain.

Passwords come from an environment variable or a file, never from a
command-line argument. Neither keys nor passwords are ever logged or put in an
error message: :class:`Signer` hides its key from ``repr``.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import coincurve
import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from ledger.errors import ConfigError, KeystoreError

PASSWORD_ENV = "COGOV_KEYSTORE_PASSWORD"
PASSWORD_FILE_ENV = "COGOV_KEYSTORE_PASSWORD_FILE"
# scrypt cost. 2**18 is the Web3 Secret Storage default; development and tests
# may lower it with COGOV_KEYSTORE_SCRYPT_N (each unlock then takes ms, not ~1 s).
SCRYPT_N_ENV = "COGOV_KEYSTORE_SCRYPT_N"
DEFAULT_SCRYPT_N = 2**18

_LEGACY_KEYS = {"chainId", "nonce", "gas", "gasPrice", "to", "data", "value"}
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def read_password(password_file: Path | None = None) -> str:
    """The keystore password from ``--password-file``, $COGOV_KEYSTORE_PASSWORD_FILE or $COGOV_KEYSTORE_PASSWORD."""
    path = password_file or (Path(os.environ[PASSWORD_FILE_ENV]) if os.environ.get(PASSWORD_FILE_ENV) else None)
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read the password file {path}: {exc.strerror}") from exc
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    raise ConfigError(
        f"no keystore password: set {PASSWORD_ENV} or {PASSWORD_FILE_ENV} (never pass it as an argument)"
    )


@dataclass(frozen=True)
class KeyInfo:
    label: str
    address: str
    path: Path


@dataclass(frozen=True)
class Signer:
    """A local account able to sign; the key never appears in repr or logs."""

    label: str
    account: LocalAccount = field(repr=False)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """The signed bytes of ``tx``. A legacy EIP-155 transaction as the pipeline builds it
        (``chainId, nonce, gas, gasPrice, to, data, value``; ``to`` a 0x address or empty) is
        signed here straight (RLP, keccak, coincurve): the same bytes as eth-account's (tested),
        in a third of its time, on the path every write of an account passes one at a time.
        Any other transaction goes to eth-account."""
        if tx.keys() == _LEGACY_KEYS:
            return _sign_legacy(bytes(self.account.key), tx)
        signed = self.account.sign_transaction(tx)
        return bytes(signed.raw_transaction)

    def sign_digest(self, digest: bytes) -> bytes:
        """The 65-byte signature of a 32-byte digest the caller built by a published rule (an
        EIP-712 digest: ``ledger.translog.receipt.receipt_digest``); never a transaction's."""
        if len(digest) != 32:
            raise ValueError("a digest is 32 bytes")
        # secp256k1 through coincurve directly (the backend eth-keys uses): r ‖ s ‖ v with v = 27 + recovery id,
        # the signature eth-account's unsafe_sign_hash makes, at a tenth of its time (one per served access)
        sig = coincurve.PrivateKey(bytes(self.account.key)).sign_recoverable(digest, hasher=None)
        return sig[:64] + bytes([27 + sig[64]])

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """The 65-byte EIP-712 signature of ``typed_data`` (``types``, ``primaryType``, ``domain``, ``message``)."""
        from eth_account.messages import encode_typed_data

        return bytes(self.account.sign_message(encode_typed_data(full_message=typed_data)).signature)

    def __repr__(self) -> str:
        return f"Signer({self.label!r}, {self.address})"


class Keystore:
    """A directory of encrypted keystore files named ``<label>.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def path(self, label: str) -> Path:
        if not _LABEL.match(label):
            raise ConfigError(
                f"invalid key label {label!r}: use letters, digits, '.', '_' or '-' (max 64)"
            )
        return self.directory / f"{label}.json"

    def create(self, label: str, password: str, private_key: bytes | None = None) -> KeyInfo:
        """Create a new key (or import one) and store it encrypted. Refuses to overwrite."""
        path = self.path(label)
        if path.exists():
            raise KeystoreError(f"key {label!r} exists already at {path}")
        account = Account.from_key(private_key) if private_key else Account.create()
        n = int(os.environ.get(SCRYPT_N_ENV, DEFAULT_SCRYPT_N))
        data = Account.encrypt(account.key, password, kdf="scrypt", iterations=n)
        data["label"] = label
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
        return KeyInfo(label, to_checksum_address(account.address), path)

    def list(self) -> list[KeyInfo]:
        if not self.directory.is_dir():
            return []
        out = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                out.append(KeyInfo(path.stem, to_checksum_address("0x" + data["address"].removeprefix("0x")), path))
            except (OSError, ValueError, KeyError):
                continue  # not a keystore
        return out

    def info(self, label: str) -> KeyInfo:
        for k in self.list():
            if k.label == label:
                return k
        raise KeystoreError(f"no key {label!r} in {self.directory}")

    def find_by_address(self, address: str) -> KeyInfo:
        want = to_checksum_address(address)
        for k in self.list():
            if k.address == want:
                return k
        raise KeystoreError(f"no key for {want} in {self.directory}")

    def signer(self, label: str, password: str) -> Signer:
        """Decrypt a key (cached in memory for this process)."""
        with self._lock:
            cached = self._cache.get(label)
            if cached is not None:
                return cached
        path = self.path(label)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KeystoreError(f"no key {label!r} in {self.directory}") from exc
        except (OSError, ValueError) as exc:
            raise KeystoreError(f"keystore {path} is unreadable") from exc
        try:
            key = Account.decrypt(data, password)
        except ValueError as exc:
            # Never echo the password; say only what failed.
            raise KeystoreError(f"cannot decrypt key {label!r}: wrong password or corrupt file") from exc
        signer = Signer(label, Account.from_key(key))
        with self._lock:
            self._cache[label] = signer
        return signer


def _sign_legacy(key: bytes, tx: dict[str, Any]) -> bytes:
    """EIP-155: rlp([nonce, gasPrice, gas, to, value, data, v, r, s]) over keccak of the same list
    with (chainId, 0, 0) in place of the signature; v = recovery id + 35 + 2 * chainId."""
    to, data = tx["to"], tx["data"]
    fields: list[Any] = [
        int(tx["nonce"]), int(tx["gasPrice"]), int(tx["gas"]),
        bytes.fromhex(to[2:]) if isinstance(to, str) and to else bytes(to or b""),
        int(tx["value"]),
        bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else bytes(data),
    ]
    chain_id = int(tx["chainId"])
    digest = keccak(rlp.encode([*fields, chain_id, 0, 0]))
    sig = coincurve.PrivateKey(key).sign_recoverable(digest, hasher=None)
    v = sig[64] + 35 + 2 * chain_id
    return bytes(rlp.encode([*fields, v, int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")]))
