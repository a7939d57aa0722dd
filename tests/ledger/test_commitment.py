"""Salted commitments: the hash of a short text cannot be confirmed by guessing."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger.commitment import SALT_BYTES, Opening, commit
from ledger.errors import ValidationFailed


def test_commitment_is_keccak_of_salt_then_text() -> None:
    salt = bytes(range(32))
    assert commit("核查居民需求", salt) == keccak(salt + "核查居民需求".encode())


def test_same_text_gets_different_commitments() -> None:
    a, b = Opening.new("health check"), Opening.new("health check")
    assert a.salt != b.salt and len(a.salt) == SALT_BYTES
    assert a.commitment != b.commitment
    # the unsalted hash a guesser would compute matches neither
    assert keccak(text="health check") not in (a.commitment, b.commitment)


def test_opening_round_trips_and_opens_only_its_commitment() -> None:
    o = Opening.new("幸福里 垃圾满溢")
    again = Opening.from_json(o.to_json())
    assert again == o and again.opens(o.commitment) and again.opens(o.commitment_hex)
    assert not Opening(o.text + " ", o.salt).opens(o.commitment)
    assert not o.opens("0xnothex")


@pytest.mark.parametrize(
    "doc",
    [b"plain text", b"{}", b'{"salt":"0x00","text":"x"}', b'{"salt":"0x' + b"00" * 32 + b'","text":1}',
     b'{"salt":"0x' + b"00" * 32 + b'","text":"x","extra":1}', b"\xff\xfe"],
)
def test_not_an_opening(doc: bytes) -> None:
    assert Opening.try_parse(doc) is None
    with pytest.raises(ValidationFailed):
        Opening.from_json(doc)


def test_salt_length_is_checked() -> None:
    with pytest.raises(ValidationFailed):
        commit("x", b"short")
