"""Reliability fixtures: private deployments (one for faults and abuse, one for fuzzing)."""

from __future__ import annotations

import pytest

from tests.reliability.env import Env, private_env


@pytest.fixture(scope="session")
def rel(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """The private deployment of the fault, authorization and abuse tests."""
    return private_env("reliability", tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """The private deployment Schemathesis writes to."""
    return private_env("fuzz", tmp_path_factory.getbasetemp())
