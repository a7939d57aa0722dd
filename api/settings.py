"""The service's settings: the ledger's (one set of ``COGOV_*`` variables for CLI and API) plus its own."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator

from ledger.config import Settings as LedgerSettings


class Settings(LedgerSettings):
    """The ledger's settings and the ones only the HTTP service reads."""

    #: ``COGOV_PREFLIGHT``: simulate every write (a view call of it) before signing, so a revert is
    #: refused with nothing sent. ``false``: one request less per write; a revert is then mined
    #: (it costs its gas) and named afterwards. Callers get the same problem+json either way.
    preflight: bool = True
    #: ``COGOV_API_THREADS``: the threads one API process runs its sync routes and dependencies on
    #: (AnyIO's default thread limiter, sized at start-up; AnyIO's own default is 40). A write holds
    #: its thread until its receipt, a block or two (1–2 s on 1 s blocks), so this bounds the writes
    #: one process has in flight: 40 let through at most ~40 a block. Each thread keeps its own
    #: connection to the node (Besu accepts 80 by default: ``--rpc-http-max-active-connections``).
    api_threads: int = Field(default=256, ge=1, le=4096)
    #: ``COGOV_CHAIN_CHECK_SECONDS``: how long a successful chain-identity check (chain id and
    #: genesis hash) is reused by writes; a connection error or a node fail-over re-checks at once,
    #: and the index follower checks at every full round (a new head, or every
    #: ``ledger.index.follower.FULL_EVERY`` s; its idle rounds ask only the head). 0: every write asks the node.
    chain_check_seconds: float = Field(default=1.0, ge=0, le=60)
    #: ``COGOV_DOC_QUOTA_COUNT`` / ``COGOV_DOC_QUOTA_BYTES``: the off-chain texts (memos, titles,
    #: purposes, references …) one API key may store, in number and in UTF-8 bytes; 0: no limit.
    #: Beyond them a write carrying a new text is refused before it is sent (429 / 413).
    doc_quota_count: int = Field(default=10_000, ge=0)
    doc_quota_bytes: int = Field(default=16 * 1024 * 1024, ge=0)
    #: ``COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE``: requests per minute per client address on the
    #: routes without an API key (the portal, its public JSON); 0 disables the limit.
    anonymous_rate_limit_per_minute: int = Field(default=120, ge=0)
    #: ``COGOV_PAGE_CACHE_SIZE``: rendered portal pages kept per index version.
    page_cache_size: int = Field(default=256, ge=1, le=100_000)
    #: ``COGOV_ACCOUNT_CHECK_SECONDS``: how long the answer "this API key's account is an active
    #: account of a member" (one ``accountInfo`` call) is reused per account. A key whose account
    #: the council removed is refused at most this long after the removal's block. 0: every request.
    account_check_seconds: float = Field(default=2.0, ge=0, le=60)
    #: ``COGOV_OPEN311_REPORTS_PER_HOUR`` / ``COGOV_OPEN311_REPORT_BURST``: residents' reports
    #: (``POST /open311/v2/requests``) per client, its ``api_key`` or else its address: a token
    #: bucket of ``burst`` reports refilled at this rate; 0 disables the limit.
    open311_reports_per_hour: int = Field(default=20, ge=0, le=1_000_000)
    open311_report_burst: int = Field(default=5, ge=1, le=100_000)
    #: ``COGOV_OPEN311_REQUIRE_API_KEY``: refuse reports without an ``api_key`` (403), as GeoReport
    #: v2's POST says. False: residents' own apps report without one, limited per address.
    open311_require_api_key: bool = False
    #: ``COGOV_OPEN311_JURISDICTION_ID``: when set, a request naming another ``jurisdiction_id`` is a
    #: 404 (GeoReport v2); unset, the parameter is ignored (this endpoint serves one jurisdiction).
    open311_jurisdiction_id: str | None = Field(default=None, min_length=1, max_length=200)
    #: ``COGOV_OPEN311_CONTACT``: who answers questions about the Open311 endpoint (its discovery file).
    open311_contact: str = Field(default="Ask the operator of this CoGov Ledger service (运营方).", max_length=500)
    #: ``COGOV_OPEN311_TIMEZONE``: the zone (IANA name) of Open311's datetimes, which carry its offset.
    open311_timezone: str = "Asia/Shanghai"
    #: ``COGOV_CATALOG_BASE_URL``: the service's public base URL (``https://data.example.gov.cn``), the
    #: stem of every URI in the DCAT-AP catalog (``GET /api/v1/catalog``), which should not change.
    #: Unset: the base URL each request was sent to.
    catalog_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=200)
    #: ``COGOV_CONSOLE_SESSION_IDLE_SECONDS``: a member console session unused this long ends (sign in
    #: again); ``COGOV_CONSOLE_SESSION_MAX_SECONDS``: it ends this long after sign-in however used.
    console_session_idle_seconds: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    console_session_max_seconds: int = Field(default=24 * 3600, ge=60, le=90 * 24 * 3600)

    @field_validator("open311_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


def service_settings(settings: LedgerSettings) -> Settings:
    """``settings`` as the service's (the service-only fields from the environment or defaults)."""
    if isinstance(settings, Settings):
        return settings
    return Settings(**settings.model_dump())


@lru_cache
def get_settings() -> Settings:
    return Settings()


__all__ = ["LedgerSettings", "Settings", "get_settings", "service_settings"]
