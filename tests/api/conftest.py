"""API fixtures: settings over the test deployment, API keys per role, TestClient and a live server
(the helpers live in api/testing.py, shared with the benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.testing import KEY_ROLES as KEY_ROLES  # the API tests import these from here
from api.testing import Api, LiveServer, api_for
from api.testing import make_settings as make_settings
from ledger.testing import Deployment
from tests.conftest import assert_on, database_urls


@pytest.fixture(scope="session")
def api(request: pytest.FixtureRequest, database: str, deployment: Deployment,
        tmp_path_factory: pytest.TempPathFactory) -> Api:
    """The service over the session deployment, on SQLite and then on PostgreSQL (tests/conftest.py's
    ``database``): every test of the API suite that takes it runs on both, over one chain."""
    api = api_for(deployment, tmp_path_factory.mktemp("api"), "test", **database_urls(request, database))
    assert_on(api.settings, database)
    return api


@pytest.fixture(scope="session")
def client(api: Api) -> Iterator[TestClient]:
    with TestClient(create_app(api.settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(api: Api) -> Iterator[LiveServer]:
    """The app served over real HTTP."""
    with LiveServer(api.settings) as server:
        yield server


@pytest.fixture(scope="session")
def live(live_server: LiveServer) -> str:
    """Base URL of the app served over real HTTP."""
    return live_server.url


@pytest.fixture
def http(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=60) as c:
        yield c
