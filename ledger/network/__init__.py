"""The local multi-node permissioned network (geth Clique) and its signer sync."""

from ledger.network.middleware import poa

__all__ = ["poa"]
