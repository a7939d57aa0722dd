"""The API over a test deployment, for the test suite and the benchmarks.

Settings pointing at a :class:`ledger.testing.Deployment` and private files, an API key
per standard label, and the app served by uvicorn on a free loopback port.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from api.apikeys import ApiKeyStore, engine_for
from api.main import create_app
from api.settings import Settings
from ledger.config import CLASSIFICATIONS
from ledger.process import free_port
from ledger.testing import Deployment

#: label -> role of its API key
KEY_ROLES = {
    "c1": "council",
    "c2": "council",
    "c3": "data_governance",
    "dept_a": "department",
    "dept_b": "department",
    "treasurer": "treasurer",
    "committee_a": "fund_committee",
    "committee_b": "fund_committee",
    "committee_c": "fund_committee",
    "auditor": "auditor",
    "resident": "contributor",
    "enterprise": "contributor",
    "outsider": "contributor",
    "subdistrict": "sub_district",
    "district": "district",
    "channel": "channel",
}


def make_settings(deployment: Deployment, directory: Path, **overrides: object) -> Settings:
    """The service's settings over ``deployment``, its databases and files in ``directory``."""
    values: dict[str, object] = {
        "env": "test",
        "rpc_urls": [deployment.ganache.config.url],
        "manifest_path": deployment.manifest_path,
        "index_db_url": f"sqlite:///{directory / 'index.db'}",
        "service_db_url": f"sqlite:///{directory / 'service.db'}",
        "keystore_dir": deployment.keystore.directory,
        "gateway_master_key_file": directory / "gateway-master.key",
        "gateway_store_dir": directory / "gateway",
        "index_follow": False,
        "rate_limit_per_minute": 0,
        "anonymous_rate_limit_per_minute": 0,  # the portal's limit per address: its own tests set it
        "open311_reports_per_hour": 0,  # the residents' reports' limit per client: its own tests set it
        # every classification recorded on chain at once: the data tests that assert on-chain records
        # predate the transparency log; the log mode's tests (tests/api/test_gateway_log.py) set their own
        "gateway_sync_classifications": frozenset(CLASSIFICATIONS),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Api:
    settings: Settings
    keys: dict[str, str]  # label -> bearer token

    def auth(self, label: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[label]}"}


def api_for(deployment: Deployment, directory: Path, prefix: str, **overrides: object) -> Api:
    """Settings in ``directory`` (:func:`make_settings`) and an API key named ``<prefix>-<label>``
    for every label of :data:`KEY_ROLES`, signing as that label's account."""
    settings = make_settings(deployment, directory, **overrides)
    engine = engine_for(settings.service_db_url)
    store = ApiKeyStore(engine)
    keys = {}
    for label, role in KEY_ROLES.items():
        token, _ = store.create(f"{prefix}-{label}", role, deployment.signers[label].address, label)
        keys[label] = token
    engine.dispose()
    return Api(settings, keys)


class LiveServer:
    """uvicorn serving the app on a free loopback port, in a thread."""

    def __init__(self, settings: Settings | None = None, app: FastAPI | None = None) -> None:
        """The app of ``settings``, or ``app`` as given (a stub of another service, say)."""
        self.port = free_port()
        if app is None:
            assert settings is not None
            app = create_app(settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.failure: BaseException | None = None  # why the server's thread ended, if it raised
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by __enter__
            self.failure = exc
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def app(self) -> FastAPI:
        app = self.server.config.app
        assert isinstance(app, FastAPI)
        return app

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start: {self.failure!r}") from self.failure
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
