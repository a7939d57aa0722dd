"""Settings of the CLI and the service (pydantic-settings), from ``COGOV_*`` environment variables."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledger.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = REPO_ROOT / ".cogov"
#: The datasets' classifications by name, as ``ledger.data.Classification`` spells them (lower-case).
CLASSIFICATIONS = ("public", "internal", "sensitive", "secret")


class Settings(BaseSettings):
    """Everything the service needs; defaults fit the development chain."""

    model_config = SettingsConfigDict(env_prefix="COGOV_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    #: One or more JSON-RPC URLs, comma-separated; the ledger fails over in order.
    rpc_urls: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["http://127.0.0.1:8545"])
    manifest_path: Path = STATE_DIR / "deployment.json"
    #: The event index: a SQLAlchemy URL (SQLite by default, PostgreSQL works too).
    index_db_url: str = f"sqlite:///{STATE_DIR / 'index.db'}"
    #: API keys and idempotency records.
    service_db_url: str = f"sqlite:///{STATE_DIR / 'service.db'}"
    keystore_dir: Path = STATE_DIR / "keys"
    confirmations: int = Field(default=1, ge=1, le=64)
    receipt_timeout: float = Field(default=120.0, gt=0)
    #: Follow the chain in a background thread and keep the index current.
    index_follow: bool = True
    #: ``COGOV_INDEX_POLL_INTERVAL``: seconds between the follower's rounds; an idle one (no new
    #: head, the index file untouched) is one RPC and a ``stat`` (ledger/index/follower.py).
    index_poll_interval: float = Field(default=0.5, gt=0)
    #: Largest accepted request body (bytes); larger ones get 413.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    #: Requests per minute per API key; 0 disables the limit.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    #: Gateway master key file (32 random bytes, hex); created in development if missing.
    gateway_master_key_file: Path = STATE_DIR / "gateway-master.key"
    gateway_store_dir: Path = STATE_DIR / "gateway"
    #: Seconds between two on-chain records of refused fetches by one member on one dataset
    #: (the refusals in between are counted into the next record).
    gateway_refusal_window: float = Field(default=60.0, gt=0, le=86_400)
    #: Most refusal records waiting to be sent (a refusal finding the queue full is counted).
    gateway_refusal_queue: int = Field(default=1000, ge=1, le=1_000_000)
    #: ``COGOV_GATEWAY_SYNC_CLASSIFICATIONS``: the classifications (comma-separated names) whose
    #: accesses and refusals are recorded on chain at once, one ``recordAccess`` transaction mined
    #: before the data leaves; every other dataset's go to its owner's transparency log
    #: (``ledger/translog/``), anchored on chain within ``gateway_mmd``. Empty: all in the log.
    gateway_sync_classifications: Annotated[frozenset[str], NoDecode] = frozenset({"secret"})
    #: ``COGOV_GATEWAY_MMD``: the maximum merge delay (seconds) a log receipt promises: an entry is
    #: in a checkpoint anchored on chain within this long of its time.
    gateway_mmd: float = Field(default=60.0, ge=1, le=86_400)
    #: ``COGOV_GATEWAY_ANCHOR_EVERY``: anchor at once when this many entries of one log wait.
    gateway_anchor_every: int = Field(default=1000, ge=1, le=10_000_000)
    #: ``COGOV_GATEWAY_FAIL_CLOSED_GRACE``: seconds past the MMD after which a log's oldest
    #: un-anchored entry makes the gateway refuse (503) to serve that owner's datasets.
    gateway_fail_closed_grace: float = Field(default=30.0, ge=0, le=86_400)
    #: ``COGOV_GATEWAY_FAULT_PAUSE_AFTER_APPEND``: fault injection for the crash tests (refused in
    #: production): seconds a log-mode fetch sleeps after its entry is durable, before it answers.
    gateway_fault_pause_after_append: float = Field(default=0.0, ge=0, le=600)
    #: The latest `cogov audit verify` report (served by GET /api/v1/audit/report).
    audit_report_path: Path = STATE_DIR / "audit-report.json"

    @property
    def upgrade_at_start(self) -> bool:
        """Whether the service and the indexer migrate their databases to head when they start:
        in development and test (the demo, the suites: nobody to run a command first); production
        refuses a database behind head until an operator runs ``cogov db upgrade``."""
        return self.env != "production"

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return [u.strip() for u in v.split(",") if u.strip()]
        return v

    @field_validator("gateway_sync_classifications", mode="before")
    @classmethod
    def _classifications(cls, v: object) -> object:
        names = [p.strip().lower() for p in v.split(",") if p.strip()] if isinstance(v, str) else v
        if isinstance(names, list | set | frozenset | tuple):
            unknown = sorted(set(map(str, names)) - set(CLASSIFICATIONS))
            if unknown:
                raise ValueError(f"unknown classification(s) {unknown}: use {', '.join(CLASSIFICATIONS)}")
            return frozenset(map(str, names))
        return v

    @model_validator(mode="after")
    def _production_needs_explicit_secrets(self) -> Settings:
        if self.env == "production" and self.gateway_fault_pause_after_append:
            raise ValueError(
                "COGOV_GATEWAY_FAULT_PAUSE_AFTER_APPEND is fault injection for tests: refused in production"
            )
        if self.env == "production" and self.gateway_master_key_file == STATE_DIR / "gateway-master.key":
            raise ValueError(
                "in production set COGOV_GATEWAY_MASTER_KEY_FILE explicitly (the development default is refused)"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


def load_yaml_fields(path: Path, what: str, fields: Collection[str], path_field: str) -> dict[str, Any]:
    """The settings of a YAML file (``ganache.yml``, ``network/clique.yml``) for a dataclass of
    ``fields``: ConfigError when the file is missing, not YAML or names an unknown setting; the
    ``path_field`` setting, when relative, is taken relative to the file's folder."""
    if not path.is_file():
        raise ConfigError(f"{what} configuration {path} not found")
    try:
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    unknown = set(raw) - set(fields)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    if path_field in raw:
        p = Path(raw[path_field])
        raw[path_field] = p if p.is_absolute() else (path.parent / p).resolve()
    return raw
