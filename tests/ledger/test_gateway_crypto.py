"""Gateway crypto and store: round trips, wrong keys and tampering fail loudly (IntegrityError)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_utils import keccak

from ledger.errors import ConfigError, IntegrityError, NotFound
from ledger.gateway import GatewayStore, crypto
from ledger.gateway.crypto import Sealed, b64d, b64e

CSV = "id,name,age,district\n1,测试甲,81,东区\n2,测试乙,77,西区\n3,测试丙,90,东区\n".encode()
JSONL = b'{"bin":"B-1","fill":0.4}\n{"bin":"B-2","fill":0.9,"alarm":true}\n'


def test_at_rest_round_trip_and_wrong_master_key() -> None:
    master = os.urandom(32)
    sealed = crypto.encrypt_at_rest(master, CSV, b"aad")
    assert CSV not in sealed.blob
    assert crypto.decrypt_at_rest(master, sealed, b"aad") == CSV
    with pytest.raises(IntegrityError, match="wrong gateway master key"):
        crypto.decrypt_at_rest(os.urandom(32), sealed, b"aad")
    with pytest.raises(IntegrityError):
        crypto.decrypt_at_rest(master, sealed, b"other aad")


@pytest.mark.parametrize("where", [0, 5, 20, -1])
def test_at_rest_tampered_ciphertext(where: int) -> None:
    master = os.urandom(32)
    sealed = crypto.encrypt_at_rest(master, CSV, b"aad")
    blob = bytearray(sealed.blob)
    blob[where] ^= 0x01
    with pytest.raises(IntegrityError, match="tampered"):
        crypto.decrypt_at_rest(master, Sealed(bytes(blob), sealed.wrapped_key), b"aad")


def test_seal_round_trip_wrong_key_and_tampering() -> None:
    priv, pub = crypto.generate_keypair()
    env = crypto.seal(pub, CSV, {"dataset_id": 1, "rows": 3})
    assert crypto.open_sealed(priv, env) == CSV
    other, _ = crypto.generate_keypair()
    with pytest.raises(IntegrityError, match="another key"):
        crypto.open_sealed(other, env)
    ct = bytearray(b64d(env["ciphertext"], "ct"))
    ct[3] ^= 0x80
    with pytest.raises(IntegrityError, match="tampered"):
        crypto.open_sealed(priv, {**env, "ciphertext": b64e(bytes(ct))})
    with pytest.raises(IntegrityError, match="tampered"):
        crypto.open_sealed(priv, {**env, "header": {"dataset_id": 1, "rows": 300}})  # header is authenticated
    with pytest.raises(IntegrityError):
        crypto.open_sealed(priv, {**env, "epk": b64e(os.urandom(32))})
    with pytest.raises(IntegrityError, match="base64"):
        crypto.open_sealed(priv, {**env, "nonce": "***"})


def test_key_files_are_0600_and_never_overwritten(tmp_path: Path) -> None:
    priv, pub = crypto.generate_keypair()
    path = tmp_path / "k.json"
    crypto.write_private_key(path, priv)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_private_key(path).public_key().public_bytes_raw() == pub
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        crypto.write_private_key(path, crypto.generate_keypair()[0])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError):
        crypto.load_private_key(tmp_path / "bad.json")


def test_master_key_created_0600_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "master.key"
    with pytest.raises(ConfigError):
        crypto.load_master_key(path)
    k1 = crypto.load_master_key(path, create=True)
    assert len(k1) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_master_key(path, create=True) == k1
    path.write_text("abcd")
    with pytest.raises(ConfigError, match="32 bytes"):
        crypto.load_master_key(path)


def test_store_round_trip_files_and_hashes(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path, os.urandom(32))
    meta = store.put(CSV, "csv", 7)
    assert meta.content_hash == keccak(CSV) and meta.uploader_id == 7
    assert meta.fields == ("id", "name", "age", "district") and meta.rows == 3 and meta.size == len(CSV)
    assert store.read(7, meta.content_hash) == CSV
    enc = tmp_path / "blobs" / "m7" / f"{keccak(CSV).hex()}.enc"
    assert CSV not in enc.read_bytes() and "测试甲".encode() not in enc.read_bytes()
    assert stat.S_IMODE(enc.stat().st_mode) == 0o600
    assert not list((tmp_path / "blobs").glob("**/*.tmp"))
    # another store (another master key) cannot read it
    with pytest.raises(IntegrityError, match="master key"):
        GatewayStore(tmp_path, os.urandom(32)).read(7, meta.content_hash)


def test_store_tampered_ciphertext_and_metadata(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path, os.urandom(32))
    meta = store.put(JSONL, "jsonl", 7)
    enc = tmp_path / "blobs" / "m7" / f"{meta.content_hash.hex()}.enc"
    js = tmp_path / "blobs" / "m7" / f"{meta.content_hash.hex()}.json"
    good = enc.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    enc.write_bytes(bytes(bad))
    with pytest.raises(IntegrityError, match="tampered"):
        store.read(7, meta.content_hash)
    enc.write_bytes(good)
    doc = json.loads(js.read_text())
    doc["rows"] = 99
    js.write_text(json.dumps(doc))
    with pytest.raises(IntegrityError):
        store.read(7, meta.content_hash)


def test_store_binds_content_to_its_uploader_and_dataset_version(tmp_path: Path) -> None:
    """Issue 14 item 1: content is served only as its uploader's upload for one dataset version."""
    store = GatewayStore(tmp_path, os.urandom(32))
    h = store.put(CSV, "csv", 7).content_hash
    with pytest.raises(IntegrityError, match="not uploaded by member 7 for dataset 3 version 1"):
        store.read_bound(7, h, 3, 1)  # stored, but no registration bound it yet
    store.bind(7, h, 3, 1)
    assert store.read_bound(7, h, 3, 1) == CSV
    for dataset, version in ((4, 1), (3, 2)):
        with pytest.raises(IntegrityError, match="not uploaded"):
            store.read_bound(7, h, dataset, version)
    with pytest.raises(NotFound):
        store.meta(8, h)  # member 8 uploaded nothing
    with pytest.raises(NotFound):
        store.bind(8, h, 5, 1)
    assert store.uploaders(h) == [7]
    # Member 7's files copied into member 8's folder, bindings and all: never member 8's content.
    src, dst = tmp_path / "blobs" / "m7", tmp_path / "blobs" / "m8"
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name.replace("d3v1", "d5v1")).write_bytes(f.read_bytes())
    assert store.uploaders(h) == [7, 8]
    with pytest.raises(IntegrityError, match="binding failed authentication"):
        store.read_bound(8, h, 5, 1)  # the copied binding was made for member 7's dataset 3
    with pytest.raises(IntegrityError, match="names member 7 as uploader"):
        store.read(8, h)
    doc = json.loads((dst / f"{h.hex()}.json").read_text())
    doc["uploader_id"] = 8  # edited to match the folder: the encryption's associated data differs
    (dst / f"{h.hex()}.json").write_text(json.dumps(doc))
    store.bind(8, h, 5, 1)  # even with a binding made with the master key, the ciphertext is member 7's
    with pytest.raises(IntegrityError, match="tampered"):
        store.read_bound(8, h, 5, 1)
    # a forged binding file for another dataset of member 7
    (src / f"{h.hex()}.d4v1").write_text("00" * 32)
    with pytest.raises(IntegrityError, match="binding failed authentication"):
        store.read_bound(7, h, 4, 1)

