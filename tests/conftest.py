"""Shared fixtures: real Ganache processes on free ports, keys, a deployed suite.

Every process a test starts is stopped by that test (fixture finalizers and an
atexit guard), and nothing here touches the demo's chain or `.cogov/`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

# Cheap scrypt for test keystores; a known test password (never a real secret).
os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")
os.environ["COGOV_KEYSTORE_PASSWORD"] = "test-password-not-secret"
TEST_PASSWORD = os.environ["COGOV_KEYSTORE_PASSWORD"]
# The CLI says times in the machine's zone (ledger/display.py); the tests read them in China Standard Time.
os.environ["TZ"] = "Asia/Shanghai"
time.tzset()

from ledger import artifacts  # noqa: E402
from ledger.chain import Ganache  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.keys import Keystore, Signer  # noqa: E402

# The bootstrap lives in ledger/testing (shared with bench/ and the demo); tests import these from here.
from ledger.testing import KEY_LABELS as KEY_LABELS  # noqa: E402
from ledger.testing import MEMBER_IDS as MEMBER_IDS  # noqa: E402
from ledger.testing import STANDARD_MEMBERS as STANDARD_MEMBERS  # noqa: E402
from ledger.testing import Deployment, deploy_standard, start_ganache  # noqa: E402
from tests.postgresql import Db, PostgresServer  # noqa: E402

# The test-only contracts (contracts/test/) compile to tests/artifacts/, never shipped.
artifacts.add_folder(Path(__file__).resolve().parent / "artifacts")


@pytest.fixture
def ganache_factory(tmp_path: Path) -> Iterator[Callable[..., Ganache]]:
    """Start fresh Ganache processes for one test; all are stopped afterwards."""
    mine: list[Ganache] = []

    def make(name: str = "g", **overrides: object) -> Ganache:
        g = start_ganache(tmp_path / name, **overrides)
        mine.append(g)
        return g

    yield make
    for g in mine:
        g.stop(timeout=10)


@pytest.fixture(scope="session")
def ganache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ganache]:
    """One Ganache for the session (tests that need a private one use ganache_factory)."""
    g = start_ganache(tmp_path_factory.mktemp("ganache"))
    yield g
    g.stop(timeout=10)


@pytest.fixture(scope="session")
def deployment(ganache: Ganache, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """The standard deployment (ledger.testing.deploy_standard) on the session Ganache."""
    return deploy_standard(ganache, tmp_path_factory.mktemp("deployment"), TEST_PASSWORD)


@pytest.fixture(scope="session")
def postgresql() -> Iterator[PostgresServer]:
    """One throw-away PostgreSQL server for the session (tests/postgresql.py); each test takes a
    database of its own from it (``postgresql.database()``). Stopped and removed at the end, when
    tests failed too; never skipped (no server binaries: an error naming the package)."""
    import atexit

    server = PostgresServer()
    atexit.register(server.stop)  # an interrupted run stops it too
    try:
        yield server.start()
    finally:
        server.stop()


#: The databases the service suites run on: ``COGOV_TEST_DATABASES`` (comma-separated), both by
#: default, as ``make test`` and CI run them; a developer may pick one while iterating.
DATABASES = [name.strip() for name in os.environ.get("COGOV_TEST_DATABASES", "sqlite,postgresql").split(",")]
assert set(DATABASES) <= {"sqlite", "postgresql"} and DATABASES, f"COGOV_TEST_DATABASES={DATABASES}"


def database_urls(request: pytest.FixtureRequest, kind: str) -> dict[str, str]:
    """The service's settings for ``kind``: nothing for SQLite (``make_settings``' files), or a new
    service database and a new index database on the session's PostgreSQL server."""
    if kind == "sqlite":
        return {}
    server: PostgresServer = request.getfixturevalue("postgresql")
    return {"service_db_url": server.database("service"), "index_db_url": server.database("index")}


@pytest.fixture(scope="session", params=DATABASES)
def database(request: pytest.FixtureRequest) -> str:
    """The kind of database (``sqlite``, ``postgresql``) every service of a test runs on: the one
    parameter of the service suites. Session-scoped so that fixtures of any scope follow it (the
    session ``api``, a module's own service, a test's ``databases``): pytest groups the tests by it,
    so a module-scoped service is built once per database, and a test never mixes two kinds."""
    return str(request.param)


@pytest.fixture
def databases(request: pytest.FixtureRequest, database: str) -> dict[str, str]:
    """Settings of a test's own service (``api_for(..., **databases)``): SQLite, then PostgreSQL."""
    return database_urls(request, database)


def index_url(request: pytest.FixtureRequest, kind: str) -> dict[str, str]:
    """A new index of ``kind`` for an app that shares another's service database (its API keys):
    ``make_settings(..., service_db_url=api.settings.service_db_url, **index_url(request, kind))``;
    nothing for SQLite (the index file in the settings' folder)."""
    if kind == "sqlite":
        return {}
    server: PostgresServer = request.getfixturevalue("postgresql")
    return {"index_db_url": server.database("index")}


@pytest.fixture
def index_db(request: pytest.FixtureRequest, database: str) -> dict[str, str]:
    """:func:`index_url` of the test's kind."""
    return index_url(request, database)


def assert_on(settings: Settings, kind: str) -> None:
    """Both of a service's databases are ``kind``'s: a URL left out of the settings falls back to
    ``make_settings``' SQLite files without a word, and a PostgreSQL test must not pass on SQLite."""
    for url in (settings.service_db_url, settings.index_db_url):
        assert sa.engine.make_url(url).get_backend_name() == kind, (kind, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """SQLite, then PostgreSQL (the session's server, started on first use): a test taking it runs
    on both."""
    server = request.getfixturevalue("postgresql") if request.param == "postgresql" else None
    d = Db(request.param, tmp_path, server)
    yield d
    d.close()


# ----------------------------------------------------------------- secrets scan
# Every secret the suite uses is registered here; tests/reliability/test_secrets_scan.py
# (moved to the very end of the run) scans every log the suite wrote for any of them.
SECRETS: set[str] = {TEST_PASSWORD}
LOG_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "logs"
SCAN_TEST = "tests/reliability/test_secrets_scan.py::test_no_secret_in_any_log"


def register_secret(value: str) -> None:
    if value:
        SECRETS.add(value)


def pytest_configure(config: pytest.Config) -> None:
    """A root DEBUG log of the whole run, and a hook registering every key and API key used."""
    import logging

    from api.apikeys import ApiKeyStore

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "suite.log"
    if log.exists() and log.stat().st_size > 200 * 2**20:
        log.replace(log.with_suffix(".log.1"))
    # appended, never truncated: concurrent runs in one tree must not erase each other's records
    handler = logging.FileHandler(log, mode="a", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)

    signer, create = Keystore.signer, ApiKeyStore.create

    def _signer(self: Keystore, label: str, password: str) -> Signer:
        s = signer(self, label, password)
        register_secret(s.account.key.hex())
        return s

    def _create(self: ApiKeyStore, *a: object, **kw: object) -> tuple[str, object]:
        token, rec = create(self, *a, **kw)  # type: ignore[arg-type]
        register_secret(token.split("_", 2)[-1])
        return token, rec

    Keystore.signer = _signer  # type: ignore[method-assign]
    ApiKeyStore.create = _create  # type: ignore[method-assign, assignment]


def _xdist_worker(config: pytest.Config) -> str | None:
    """This process's xdist worker id (``gw0``…), or None when pytest runs in one process."""
    return getattr(config, "workerinput", {}).get("workerid")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [i for i in items if i.nodeid.endswith(SCAN_TEST.split("/")[-1]) and "reliability" in i.nodeid]
    for i in last:
        items.remove(i)
    if _xdist_worker(config) is None:
        items.extend(last)  # in one process the scan runs last
    else:  # under xdist no test runs after the other worker's: make test scans in a second run
        config.hook.pytest_deselected(items=last)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker leaves the secrets it registered beside its temporary directory, for the
    scan of ``make test``'s second run (tests/reliability/test_secrets_scan.py reads them)."""
    worker = _xdist_worker(session.config)
    if worker is not None:
        root = session.config._tmp_path_factory.getbasetemp().parent  # type: ignore[attr-defined]
        (root / f"registered-secrets-{worker}.txt").write_text("\n".join(sorted(SECRETS)), encoding="utf-8")
