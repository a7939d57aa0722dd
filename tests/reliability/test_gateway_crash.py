"""A gateway killed (kill -9) after an access is durable in its transparency log and before the answer
left: nothing is lost. The restarted service finds the entry in the log and anchors it at once.

The service is a real process (uvicorn with ``api.main:app_factory``, what ``cogov serve`` runs); the
moment between the append and the answer is held open by the fault-injection setting
``COGOV_GATEWAY_FAULT_PAUSE_AFTER_APPEND`` (refused in production).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from ledger.data.checkpoints import AccessCheckpoints
from ledger.errors import NotFound
from ledger.translog import LogReader
from tests.reliability.env import ApiProcess, Env, make_api, shared_dataset

pytestmark = [pytest.mark.ganache, pytest.mark.slow]


def _size(directory: Path) -> int:
    try:
        return LogReader(directory).size
    except NotFound:
        return 0


def test_a_crash_after_the_append_loses_nothing_and_the_entry_is_anchored_after_restart(
    rel: Env, tmp_path: Path, databases: dict[str, str]
) -> None:
    d = rel.deployment
    # the gateway's files (its access logs) are the deployment's, not a run's: on the other database
    # this test's second run appends to the log the first one anchored, as a real restart would
    gateway = rel.directory / "gateway-crash"
    api = make_api(
        d,
        tmp_path / "api",
        gateway_store_dir=gateway / "store",
        gateway_master_key_file=gateway / "gateway-master.key",
        **databases,
        gateway_sync_classifications=frozenset({"secret"}),
        gateway_mmd=60.0,
        gateway_fault_pause_after_append=120.0,
    )
    checkpoints = AccessCheckpoints(d.ledger())
    proc = ApiProcess(api.settings, "gateway-crash").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            shared = shared_dataset(d, http, api, owner="dept_a", grantee="dept_b")
        owner = shared["dataset"]["owner_id"]
        log_dir = Path(api.settings.gateway_store_dir) / "translog" / str(owner)
        before = checkpoints.latest(owner).tree_size
        answers: list[object] = []

        def fetch() -> None:
            try:
                answers.append(
                    httpx.get(
                        f"{proc.url}/api/v1/datasets/{shared['dataset']['id']}/data",
                        headers=api.auth("dept_b"),
                        params={"fields": "district,age", "grant_id": shared["grant"]["id"]},
                        timeout=120,
                    )
                )
            except httpx.TransportError as exc:
                answers.append(exc)

        t = threading.Thread(target=fetch)
        t.start()
        deadline = time.monotonic() + 60
        while _size(log_dir) < before + 1:  # the entry is durable; the answer is held back
            assert time.monotonic() < deadline and t.is_alive(), answers
            time.sleep(0.05)
        proc.kill9()
        t.join(30)
        assert len(answers) == 1 and isinstance(answers[0], httpx.TransportError), answers  # no answer left
    finally:
        proc.stop()
    entry = json.loads(LogReader(log_dir).entry(before))
    served = ("access", shared["grant"]["id"], shared["dataset"]["id"])
    assert (entry["kind"], entry["grant"], entry["dataset"]) == served
    assert checkpoints.latest(owner).tree_size == before  # the crash left it un-anchored

    api.settings.gateway_fault_pause_after_append = 0.0
    with ApiProcess(api.settings, "gateway-crash-restart"):  # anchors what it finds pending at start-up
        deadline = time.monotonic() + 60
        while checkpoints.latest(owner).tree_size < before + 1:
            assert time.monotonic() < deadline, "the entry a crash left was not anchored after the restart"
            time.sleep(0.2)
        cp = checkpoints.latest(owner)
        assert cp.root_hash == LogReader(log_dir).root(cp.tree_size)
