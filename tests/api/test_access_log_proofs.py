"""/api/v1/access-log/{proof,consistency,checkpoint,entries} over real HTTP, beside a writer of the log.

The log of 城管 (dept_b) is written by a TransparencyLog in the test (what the gateway does)
while the served app reads it; its checkpoint is anchored on the session chain. Every proof
served is checked against the root the chain anchored, not the root the server states.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.testing import Api, LiveServer, api_for
from ledger.data.checkpoints import AccessCheckpoints
from ledger.testing import MEMBER_IDS, Deployment
from ledger.translog import merkle
from ledger.translog.receipt import sign_receipt
from ledger.translog.store import TransparencyLog
from tests.conftest import database_urls
from tests.ledger.cogov_cli import cogov_data, verify_receipt

LOG = MEMBER_IDS["dept_b"]


@dataclass
class Env:
    api: Api
    http: httpx.Client
    log: TransparencyLog
    anchored: int  # the anchored size
    anchored_root: bytes

    def get(self, path: str, who: str = "dept_a", **params: int) -> httpx.Response:
        return self.http.get(f"/api/v1/access-log/{path}", params=params, headers=self.api.auth(who))


@pytest.fixture(scope="module")
def env(request: pytest.FixtureRequest, database: str, deployment: Deployment,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    # The served gateway opens this log too (shared: every process appends under the file lock); at
    # start it anchors what it finds pending, so the last three entries come after it started, and
    # an MMD of an hour keeps them pending for the tests: the test's own anchor stays the latest.
    api = api_for(deployment, tmp_path_factory.mktemp("proofs-api"), "proofs", gateway_mmd=3600,
                  **database_urls(request, database))
    store = Path(api.settings.gateway_store_dir)
    led = deployment.ledger()
    cps = AccessCheckpoints(led)
    base = cps.latest(LOG).tree_size  # an earlier test's anchor of this log: sizes only grow
    now = int(led.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    log = TransparencyLog(store / "translog" / str(LOG), shared=True)
    entries = [b'{"i":%d,"kind":"test","time":%d}' % (i, now) for i in range(base + 9)]
    log.append_many(entries[: base + 6])
    cps.anchor(deployment.signers["dept_b"], base + 6, log.root(base + 6), now)
    with LiveServer(api.settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        log.append_many(entries[base + 6 :])
        yield Env(api, http, log, base + 6, log.root(base + 6))
    log.close()


def _b(h: str) -> bytes:
    return bytes.fromhex(h.removeprefix("0x"))


def test_an_inclusion_proof_verifies_against_the_anchored_root(env: Env) -> None:
    for leaf in (0, 3, env.anchored - 1):
        r = env.get("proof", log=LOG, leaf=leaf, size=env.anchored)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["log"], body["leaf"], body["size"]) == (LOG, leaf, env.anchored)
        hashes = [_b(h) for h in body["hashes"]]
        assert merkle.verify_inclusion(merkle.leaf_hash(env.log.entry(leaf)), leaf, env.anchored, hashes,
                                       env.anchored_root)


def test_a_consistency_proof_verifies_between_the_anchored_head_and_the_current_one(env: Env) -> None:
    r = env.get("consistency", log=LOG, first=env.anchored, second=env.log.size)
    assert r.status_code == 200, r.text
    body = r.json()
    assert _b(body["first_root"]) == env.anchored_root
    assert merkle.verify_consistency(env.anchored, env.log.size, env.anchored_root, env.log.root(),
                                     [_b(h) for h in body["hashes"]])


def test_the_checkpoint_shows_the_local_head_and_the_anchored_one(env: Env) -> None:
    env.log.append(b'{"late":1}')  # the writer moves on; the next read sees it
    body = env.get("checkpoint", log=LOG).json()
    assert body["local"] == {"size": env.log.size, "root": "0x" + env.log.root().hex()}
    assert body["anchored"]["size"] == env.anchored and _b(body["anchored"]["root"]) == env.anchored_root


@pytest.mark.parametrize(("path", "params"), [
    ("proof", {"leaf": 6, "size": 6}),  # leaf >= size
    ("proof", {"leaf": 0, "size": 10**6}),  # beyond the log
    ("proof", {"leaf": 0, "size": 0}),
    ("proof", {"leaf": -1, "size": 3}),
    ("consistency", {"first": 5, "second": 4}),
    ("consistency", {"first": 1, "second": 10**6}),
    ("entries", {"start": 0, "end": 5000}),
])
def test_sizes_out_of_range_are_422(env: Env, path: str, params: dict[str, int]) -> None:
    r = env.get(path, who="dept_b", log=LOG, **params)
    assert r.status_code == 422, r.text


def test_an_unknown_log_is_404_and_no_key_is_401(env: Env) -> None:
    assert env.get("checkpoint", log=MEMBER_IDS["treasurer"]).status_code == 404
    assert env.http.get("/api/v1/access-log/checkpoint", params={"log": LOG}).status_code == 401


def test_entries_are_for_the_logs_member_and_auditors_only(env: Env) -> None:
    for who in ("dept_b", "auditor"):
        r = env.get("entries", who=who, log=LOG, start=1, end=4)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert [d["index"] for d in data] == [1, 2, 3]
        assert [d["entry"].encode() for d in data] == env.log.entries(1, 4)
        assert all(_b(d["leaf_hash"]) == merkle.leaf_hash(d["entry"].encode()) for d in data)
    for who in ("dept_a", "c3"):
        r = env.get("entries", who=who, log=LOG, start=0, end=2)
        assert r.status_code == 403, r.text


def test_the_cli_fetches_the_proof_from_the_api_and_trusts_it_for_nothing(
    env: Env, deployment: Deployment, tmp_path: Path
) -> None:
    led = deployment.ledger()
    # an entry above every earlier anchor of this log (the module's run on the other database made
    # some): the first checkpoint that holds it is this run's
    index = env.anchored - 4
    made = json.loads(env.log.entry(index))["time"]  # a receipt states its entry's time
    common: dict[str, Any] = {"log": LOG, "time": made, "mmd": 3600, "chain_id": led.chain_id,
                              "checkpoints": led.contract("AccessCheckpoints").address}
    url = str(env.http.base_url)
    for entry, code in ((env.log.entry(index), 0), (b'{"never":"logged"}', 1)):
        receipt = sign_receipt(deployment.signers["dept_b"], index=index, entry=entry, **common)
        path = tmp_path / "receipt.json"
        path.write_text(json.dumps(receipt.to_json()), encoding="utf-8")
        done = verify_receipt(deployment.ganache.config.url, deployment.manifest_path, path, "--api-url", url,
                              api_key=env.api.keys["resident"])  # any member's key
        assert done.returncode == code, done.stdout + done.stderr
        assert ("✓ inclusion:" if code == 0 else "✗ inclusion:") in done.stdout


def test_the_cli_witness_cosigns_a_head_the_api_proves_consistent(env: Env, deployment: Deployment) -> None:
    led = deployment.ledger()
    cps = AccessCheckpoints(led)
    now = int(led.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    size = env.log.size
    cps.anchor(deployment.signers["dept_b"], size, env.log.root(), now)
    extra = {"COGOV_API_KEY": env.api.keys["c3"], "COGOV_KEYSTORE_DIR": str(deployment.keystore.directory)}
    done = cogov_data(deployment.ganache.config.url, deployment.manifest_path, "witness", "--log", str(LOG),
                      "--key", "c3", "--api-url", str(env.http.base_url), "--after", str(env.anchored), extra_env=extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"cosigned the checkpoint of size {size}" in done.stdout
    assert cps.cosigners(LOG, size) == (MEMBER_IDS["c3"],)
