"""The data gateway: datasets encrypted at rest, served sealed to grantees under on-chain grants."""

from ledger.errors import GatewayIntegrityError, GatewayUnavailable
from ledger.gateway.answers import Served, Upload, query_hash
from ledger.gateway.crypto import (
    SEAL_ALG,
    decrypt_at_rest,
    encrypt_at_rest,
    generate_keypair,
    load_master_key,
    load_private_key,
    open_sealed,
    seal,
    write_private_key,
)
from ledger.gateway.owners import owner_signer_from_keystore
from ledger.gateway.refusals import Refusal, RefusalRecorder
from ledger.gateway.service import ALARM, Gateway
from ledger.gateway.store import FORMATS, GatewayStore, StoredMeta, describe, detect_format

__all__ = [
    "ALARM",
    "FORMATS",
    "SEAL_ALG",
    "Gateway",
    "GatewayIntegrityError",
    "GatewayStore",
    "GatewayUnavailable",
    "Refusal",
    "RefusalRecorder",
    "Served",
    "StoredMeta",
    "Upload",
    "decrypt_at_rest",
    "describe",
    "detect_format",
    "encrypt_at_rest",
    "generate_keypair",
    "load_master_key",
    "load_private_key",
    "open_sealed",
    "owner_signer_from_keystore",
    "query_hash",
    "seal",
    "write_private_key",
]
