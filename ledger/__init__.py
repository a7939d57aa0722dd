"""CoGov Ledger: the Python library, and the only code that talks to the chain."""

from ledger.errors import LedgerError

__version__ = "0.1.0"
__all__ = ["LedgerError", "__version__"]
