"""Gateway cryptography: envelope encryption at rest and sealing to a grantee's X25519 key.

At rest (``encrypt_at_rest``): a random 256-bit data key per dataset version
encrypts the content with AES-256-GCM; the data key is wrapped with AES-256-GCM
under the gateway's master key. Both carry associated data binding them to the
content hash, the uploading member and the metadata, so swapping files (or moving
one into another member's folder) or editing metadata fails the tag. The record
binding a blob to a dataset version is authenticated with HMAC-SHA256 under a key
derived from the master key (HKDF, info ``cogov-gateway-binding-v1``).

In transit (``seal``): ephemeral X25519 with the grantee member's registered
public key, HKDF-SHA256 (salt = ephemeral public key ‖ recipient public key,
info = ``cogov-gateway-seal-v1``) to a 256-bit key, AES-256-GCM over the
payload with the envelope header as associated data.

Any failed tag raises :class:`~ledger.errors.IntegrityError`; nothing here ever
returns unauthenticated bytes. Keys never appear in messages or logs.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.errors import ConfigError, IntegrityError, ValidationFailed

log = logging.getLogger("ledger.gateway")

SEAL_ALG = "X25519-HKDF-SHA256-AES-256-GCM"
SEAL_INFO = b"cogov-gateway-seal-v1"
NONCE = 12
KEY_FILE_KIND = "cogov-x25519-private-key"


def b64e(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def b64d(s: str, what: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (ValueError, TypeError) as exc:
        raise IntegrityError(f"{what} is not valid base64") from exc


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails if path exists: never overwrite a key
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------ master key


def load_master_key(path: Path, *, create: bool = False) -> bytes:
    """The gateway master key (32 bytes, hex in the file). Created (0600) when ``create``."""
    if not path.exists():
        if not create:
            raise ConfigError(f"gateway master key file {path} does not exist")
        try:
            write_secret_file(path, secrets.token_bytes(32).hex() + "\n")
            log.info("created a new gateway master key file at %s", path)
        except FileExistsError:
            pass  # another process created it first
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"gateway master key file {path} is unreadable or not hex") from exc
    if len(key) != 32:
        raise ConfigError(f"gateway master key file {path} must hold 32 bytes (64 hex digits)")
    if path.stat().st_mode & 0o077:
        log.warning("gateway master key file %s is readable by group or others; chmod 600 it", path)
    return key


# ------------------------------------------------------------------ at rest


@dataclass(frozen=True)
class Sealed:
    """Ciphertext at rest: ``nonce ‖ ciphertext+tag`` and the wrapped data key."""

    blob: bytes
    wrapped_key: bytes


def encrypt_at_rest(master_key: bytes, plaintext: bytes, aad: bytes) -> Sealed:
    dek = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE)
    blob = nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)
    wnonce = secrets.token_bytes(NONCE)
    wrapped = wnonce + AESGCM(master_key).encrypt(wnonce, dek, b"cogov-dek-v1|" + aad)
    return Sealed(blob, wrapped)


def decrypt_at_rest(master_key: bytes, sealed: Sealed, aad: bytes) -> bytes:
    if len(sealed.wrapped_key) < NONCE + 16 or len(sealed.blob) < NONCE + 16:
        raise IntegrityError("stored dataset ciphertext is truncated")
    try:
        dek = AESGCM(master_key).decrypt(sealed.wrapped_key[:NONCE], sealed.wrapped_key[NONCE:], b"cogov-dek-v1|" + aad)
    except InvalidTag as exc:
        raise IntegrityError(
            "stored data key failed authentication: wrong gateway master key, or the key or metadata was tampered with"
        ) from exc
    try:
        return AESGCM(dek).decrypt(sealed.blob[:NONCE], sealed.blob[NONCE:], aad)
    except InvalidTag as exc:
        raise IntegrityError(
            "stored dataset ciphertext failed authentication: it was tampered with or corrupted"
        ) from exc


BINDING_INFO = b"cogov-gateway-binding-v1"


def _binding_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=BINDING_INFO).derive(master_key)


def binding_mac(master_key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of a store record (a blob's dataset binding) under a key derived from the master key."""
    mac = hmac.HMAC(_binding_key(master_key), hashes.SHA256())
    mac.update(message)
    return mac.finalize()


def verify_binding_mac(master_key: bytes, message: bytes, tag: bytes) -> None:
    """IntegrityError unless ``tag`` is :func:`binding_mac` of ``message`` (constant-time compare)."""
    mac = hmac.HMAC(_binding_key(master_key), hashes.SHA256())
    mac.update(message)
    try:
        mac.verify(tag)
    except InvalidSignature as exc:
        raise IntegrityError("a stored dataset binding failed authentication: it was tampered with") from exc


# ------------------------------------------------------------------ X25519 sealing


def generate_keypair() -> tuple[X25519PrivateKey, bytes]:
    priv = X25519PrivateKey.generate()
    return priv, public_bytes(priv)


def public_bytes(priv: X25519PrivateKey) -> bytes:
    return priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key_text(priv: X25519PrivateKey) -> str:
    raw = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return json.dumps({"kind": KEY_FILE_KIND, "private_key": raw.hex(), "public_key": public_bytes(priv).hex()}) + "\n"


def write_private_key(path: Path, priv: X25519PrivateKey) -> None:
    """Write an X25519 private key file (mode 0600); refuses to overwrite."""
    try:
        write_secret_file(path, private_key_text(priv))
    except FileExistsError as exc:
        raise ConfigError(f"{path} exists already; refusing to overwrite a key file") from exc


def load_private_key(path: Path) -> X25519PrivateKey:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("kind") != KEY_FILE_KIND:
            raise ValueError("kind")
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(doc["private_key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a readable cogov X25519 key file") from exc


def _seal_key(shared: bytes, epk: bytes, rpk: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + rpk, info=SEAL_INFO).derive(shared)


def _header_aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal(recipient_public: bytes, plaintext: bytes, header: dict[str, Any]) -> dict[str, Any]:
    """Seal ``plaintext`` to an X25519 public key; ``header`` is authenticated, not encrypted.

    Returns the envelope: ``{alg, header, epk, nonce, ciphertext}`` (binary fields base64).
    """
    if len(recipient_public) != 32:
        raise ValidationFailed("data key", "an X25519 public key is 32 bytes")
    envelope, ct = seal_apart(recipient_public, plaintext, header)
    return {**envelope, "ciphertext": b64e(ct)}


def seal_apart(recipient_public: bytes, plaintext: bytes, header: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """:func:`seal`'s envelope without its ciphertext, and the ciphertext as bytes (the gateway's
    binary answer sends them apart: the envelope in a header, the ciphertext as the body)."""
    if len(recipient_public) != 32:
        raise ValidationFailed("data key", "an X25519 public key is 32 bytes")
    eph = X25519PrivateKey.generate()
    epk = public_bytes(eph)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    key = _seal_key(shared, epk, recipient_public)
    nonce = secrets.token_bytes(NONCE)
    ct = AESGCM(key).encrypt(nonce, plaintext, _header_aad(header))
    return {"alg": SEAL_ALG, "header": header, "epk": b64e(epk), "nonce": b64e(nonce)}, ct


def open_sealed(priv: X25519PrivateKey, envelope: dict[str, Any], ciphertext: bytes | None = None) -> bytes:
    """Open an envelope made by :func:`seal` (or by :func:`seal_apart`, with its ``ciphertext``);
    IntegrityError on any tampering or a wrong key."""
    if envelope.get("alg") != SEAL_ALG:
        raise IntegrityError(f"unsupported envelope algorithm {envelope.get('alg')!r}")
    try:
        header = envelope["header"]
        epk = b64d(envelope["epk"], "envelope epk")
        nonce = b64d(envelope["nonce"], "envelope nonce")
        ct = ciphertext if ciphertext is not None else b64d(envelope["ciphertext"], "envelope ciphertext")
    except KeyError as exc:
        raise IntegrityError(f"envelope lacks {exc.args[0]}") from exc
    if len(epk) != 32 or len(nonce) != NONCE:
        raise IntegrityError("envelope epk or nonce has the wrong length")
    rpk = public_bytes(priv)
    try:
        shared = priv.exchange(X25519PublicKey.from_public_bytes(epk))
    except ValueError as exc:
        raise IntegrityError("envelope carries an invalid ephemeral key") from exc
    key = _seal_key(shared, epk, rpk)
    try:
        return AESGCM(key).decrypt(nonce, ct, _header_aad(header))
    except InvalidTag as exc:
        raise IntegrityError(
            "sealed data failed authentication: the envelope was tampered with, or it was sealed to another key"
        ) from exc
