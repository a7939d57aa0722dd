"""The service's settings are the ledger's (one set of ``COGOV_*`` variables for CLI and API)."""

from ledger.config import Settings, get_settings

__all__ = ["Settings", "get_settings"]
