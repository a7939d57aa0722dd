"""The fund's token: any ERC-20 (:class:`Token`), and the deployment's CommunityCredit (:class:`Credit`).

Reads are ``eth_call``s; each write has ``x_call(...)`` (a prepared
:class:`~ledger.tx.ContractCall`, to send with a journal) next to ``x(signer, ...)``
(sent and waited for).
"""

from __future__ import annotations

import weakref
from functools import cached_property
from typing import Any

from eth_utils import to_checksum_address

from ledger.client import ContractCall, Ledger, TxReceipt
from ledger.errors import NotDeployed
from ledger.keys import Signer

CREDIT = "CommunityCredit"

#: ERC-20 views fixed for a token's life (read once per ledger and token address).
_TOKEN_CONSTANTS = frozenset({"decimals", "symbol", "name"})
_token_constants: weakref.WeakKeyDictionary[Ledger, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


class Token:
    """An ERC-20 at ``address`` (the fund's token: CommunityCredit in development, any ERC-20)."""

    def __init__(self, ledger: Ledger, address: str) -> None:
        self.ledger = ledger
        self.address = to_checksum_address(address)
        self._c = ledger.contract(CREDIT, self.address)  # the ERC-20 part of its ABI is standard

    def _call(self, fn: str, *args: Any) -> Any:
        # Encoded with eth_abi and sent as one eth_call (web3's contract call asked the node
        # for its chain id twice and cost milliseconds of Python per call).
        if fn in _TOKEN_CONSTANTS and not args:
            known = _token_constants.setdefault(self.ledger, {})
            key = (self.address, fn)
            if key not in known:
                known[key] = self.ledger.views([(CREDIT, fn, (), self.address)])[0]
            return known[key]
        return self.ledger.views([(CREDIT, fn, args, self.address)])[0]

    def _prepare(self, fn: str, *args: Any) -> ContractCall:
        return self.ledger.prepare(CREDIT, fn, *args, address=self.address)

    @cached_property
    def symbol(self) -> str:
        return str(self._call("symbol"))

    @cached_property
    def name(self) -> str:
        return str(self._call("name"))

    @cached_property
    def decimals(self) -> int:
        return int(self._call("decimals"))

    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call("allowance", to_checksum_address(owner), to_checksum_address(spender)))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def approve_call(self, spender: str, amount: int) -> ContractCall:
        return self._prepare("approve", to_checksum_address(spender), amount)

    def approve(self, signer: Signer, spender: str, amount: int) -> TxReceipt:
        return self.ledger.transact(signer, self.approve_call(spender, amount))

    def transfer_call(self, to: str, amount: int) -> ContractCall:
        return self._prepare("transfer", to_checksum_address(to), amount)

    def transfer(self, signer: Signer, to: str, amount: int) -> TxReceipt:
        return self.ledger.transact(signer, self.transfer_call(to, amount))


class Credit(Token):
    """The deployment's CommunityCredit: minted by the treasurer against fiat deposits, burned on redemption."""

    def __init__(self, ledger: Ledger) -> None:
        if ledger.manifest is None:
            raise NotDeployed("no deployment manifest: run `cogov deploy`")
        super().__init__(ledger, ledger.manifest.address(CREDIT))

    def deposit_recorded(self, deposit_ref: bytes) -> bool:
        return bool(self.ledger.call(CREDIT, "depositRecorded", deposit_ref))

    def redemption_recorded(self, redemption_ref: bytes) -> bool:
        return bool(self.ledger.call(CREDIT, "redemptionRecorded", redemption_ref))

    def total_minted(self) -> int:
        return int(self.ledger.call(CREDIT, "totalMinted"))

    def total_burned(self) -> int:
        return int(self.ledger.call(CREDIT, "totalBurned"))

    def mint_call(self, to: str, amount: int, deposit_ref: bytes) -> ContractCall:
        """Mint against a fiat deposit (treasurer). ``deposit_ref``: keccak256 of the bank reference, used once."""
        return self._prepare("mint", to_checksum_address(to), amount, deposit_ref)

    def mint(self, signer: Signer, to: str, amount: int, deposit_ref: bytes) -> TxReceipt:
        return self.ledger.transact(signer, self.mint_call(to, amount, deposit_ref))

    def burn_call(self, holder: str, amount: int, redemption_ref: bytes) -> ContractCall:
        """Burn on redemption (treasurer); the holder must have approved the treasurer unless it is the treasurer."""
        return self._prepare("burn", to_checksum_address(holder), amount, redemption_ref)

    def burn(self, signer: Signer, holder: str, amount: int, redemption_ref: bytes) -> TxReceipt:
        return self.ledger.transact(signer, self.burn_call(holder, amount, redemption_ref))
