"""A transaction signed by the pipeline's path (ledger.keys: RLP, keccak and coincurve straight) is
byte for byte the one eth-account signs, for any field values, a deployment included."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.keys import Signer

SIGNER = Signer("t", Account.from_key(b"\x11" * 32))

legacy = st.fixed_dictionaries({
    "chainId": st.integers(1, 2**32),
    "nonce": st.integers(0, 2**64 - 1),
    "gas": st.integers(21_000, 30_000_000),
    "gasPrice": st.integers(0, 2**128),
    "to": st.one_of(st.just(b""), st.binary(min_size=20, max_size=20).map(to_checksum_address)),
    "data": st.binary(max_size=300).map(lambda b: "0x" + b.hex()),
    "value": st.integers(0, 2**128),
})


@settings(max_examples=300, deadline=None)
@given(legacy)
def test_the_fast_legacy_signature_is_eth_accounts(tx: dict[str, Any]) -> None:
    assert SIGNER.sign_transaction(tx) == bytes(SIGNER.account.sign_transaction(tx).raw_transaction)
    assert Account.recover_transaction(SIGNER.sign_transaction(tx)) == SIGNER.address


def test_other_transactions_go_to_eth_account() -> None:
    tx = {"chainId": 1337, "nonce": 1, "gas": 21_000, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1,
          "to": SIGNER.address, "value": 1, "data": "0x", "type": 2}
    assert SIGNER.sign_transaction(tx) == bytes(SIGNER.account.sign_transaction(tx).raw_transaction)
