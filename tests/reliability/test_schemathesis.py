"""Schemathesis (v4) over the whole OpenAPI schema, in-process (ASGI) and over real HTTP (uvicorn),
with and without a valid API key: no answer is a server error, and every documented answer
conforms to its response schema. Writes land on a private deployment (the ``fuzz`` chain).

Authenticated cases use, for each write endpoint, a key entitled to it (from the authorization
matrix), so generated bodies reach validation, the contract and the chain; reads use a
department key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.main import create_app
from api.state import ServiceState
from tests.api.conftest import Api, LiveServer
from tests.conftest import database_urls
from tests.reliability.env import Env, make_api, master_key_secret
from tests.reliability.test_authz_matrix import label_for

pytestmark = [pytest.mark.ganache, pytest.mark.slow]

MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(scope="module")
def fuzz_api(request: pytest.FixtureRequest, database: str, fuzz: Env, tmp_path_factory: pytest.TempPathFactory) -> Api:
    """The service the fuzzer writes to, on SQLite and on PostgreSQL (the same requests: a string
    PostgreSQL refuses, a NUL say, must be a 4xx there too, never a 500)."""
    # every request of a run is one key's worth of traffic: no rate limit here (tested elsewhere)
    return make_api(fuzz.deployment, Path(tmp_path_factory.mktemp("fuzz-api")), rate_limit_per_minute=0,
                    **database_urls(request, database))


@pytest.fixture(scope="module")
def fuzz_app(fuzz_api: Api) -> Iterator[FastAPI]:
    """The app with its service state started (Schemathesis' ASGI client does not run the lifespan)."""
    state = ServiceState.build(fuzz_api.settings)
    app = create_app(fuzz_api.settings, state=state)
    app.state.service = state
    state.start_index()
    yield app
    state.close()
    master_key_secret(fuzz_api.settings)


@pytest.fixture(scope="module")
def asgi_schema(fuzz_app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def live_schema(fuzz_api: Api) -> Iterator[Any]:
    with LiveServer(fuzz_api.settings) as server:
        yield schemathesis.openapi.from_url(server.url + "/openapi.json")


def _operations() -> list[tuple[str, str]]:
    from ledger.config import Settings

    spec = create_app(Settings(env="test")).openapi()
    return sorted((m.upper(), p) for p, ops in spec["paths"].items() for m in ops)


OPERATIONS = _operations()
_seen: list[tuple[str, str, bool, int]] = []


def _run(schema: Any, method: str, path: str, api: Api, authenticated: bool, examples: int, **call: Any) -> None:
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(FUZZ_SETTINGS, max_examples=examples)
    def fuzz(case: Any) -> None:
        if authenticated:
            headers = api.auth(label_for(method, path))
        else:
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            headers = None
        resp = case.call_and_validate(headers=headers, checks=CHECKS, **call)
        _seen.append((method, path, authenticated, resp.status_code))

    fuzz()


@pytest.mark.parametrize("authenticated", [True, False], ids=["key", "anonymous"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_asgi(asgi_schema: Any, fuzz_api: Api, method: str, path: str, authenticated: bool) -> None:
    _run(asgi_schema, method, path, fuzz_api, authenticated, MAX_EXAMPLES)


@pytest.mark.parametrize("authenticated", [True, False], ids=["key", "anonymous"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_live(live_schema: Any, fuzz_api: Api, method: str, path: str, authenticated: bool) -> None:
    _run(live_schema, method, path, fuzz_api, authenticated, MAX_EXAMPLES if authenticated else 3, timeout=60)


def test_fuzzing_reached_the_chain(fuzz: Env) -> None:
    """Runs after the fuzzing above (file order): cases were sent, and some generated writes landed."""
    if not _seen:
        pytest.skip("the fuzzing tests were deselected")
    statuses = {s for _, _, _, s in _seen}
    assert len(_seen) >= len(OPERATIONS) and 201 in statuses and 500 not in statuses
