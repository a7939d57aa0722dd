"""The service's settings: the ledger's (one set of ``COGOV_*`` variables for CLI and API) plus its own."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from ledger.config import Settings as LedgerSettings


class Settings(LedgerSettings):
    """The ledger's settings and the ones only the HTTP service reads."""

    #: ``COGOV_PREFLIGHT``: simulate every write (``eth_call``) before signing, so a revert is
    #: refused with nothing sent. ``false``: one request less per write; a revert is then mined
    #: (it costs its gas) and named afterwards. Callers get the same problem+json either way.
    preflight: bool = True
    #: ``COGOV_CHAIN_CHECK_SECONDS``: how long a successful chain-identity check (chain id and
    #: genesis hash) is reused by writes; a connection error or a node fail-over re-checks at once,
    #: and the index follower checks every poll. 0: every write asks the node.
    chain_check_seconds: float = Field(default=1.0, ge=0, le=60)
    #: ``COGOV_ACCOUNT_CHECK_SECONDS``: how long the answer "this API key's account is an active
    #: account of a member" (one ``accountInfo`` call) is reused per account. A key whose account
    #: the council removed is refused at most this long after the removal's block. 0: every request.
    account_check_seconds: float = Field(default=2.0, ge=0, le=60)


def service_settings(settings: LedgerSettings) -> Settings:
    """``settings`` as the service's (the service-only fields from the environment or defaults)."""
    if isinstance(settings, Settings):
        return settings
    return Settings(**settings.model_dump())


@lru_cache
def get_settings() -> Settings:
    return Settings()


__all__ = ["LedgerSettings", "Settings", "get_settings", "service_settings"]
