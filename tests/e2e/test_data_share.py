"""End to end over real HTTP against Ganache: upload → request → approve → fetch → decrypt == original bytes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from eth_utils import keccak

from ledger.data import DataSharing
from tests.api.conftest import api, http, live, live_server  # noqa: F401  (fixtures for this folder)
from tests.api.test_data_support import decrypt, register_data_key, synthetic_csv, unique
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


def test_share_over_http(http: httpx.Client, api, deployment: Deployment) -> None:  # noqa: F811 (fixtures)
    grantee_key = register_data_key(deployment, "dept_a")
    original = synthetic_csv(40)
    r = http.post(
        "/api/v1/datasets",
        headers=api.auth("c2"),
        data={"title": unique("e2e elderly registry"), "classification": "sensitive"},
        files={"file": ("elderly.csv", original, "text/csv")},
    )
    assert r.status_code == 201, r.text
    did = r.json()["dataset"]["id"]
    def request_access() -> httpx.Response:  # the same request, under the same Idempotency-Key
        return http.post(
            "/api/v1/access-requests",
            headers={**api.auth("dept_a"), "Idempotency-Key": f"e2e-req-{did}"},
            json={"dataset_id": did, "purpose_code": 5, "purpose": "clinic outreach", "duration": 600},
        )

    r = request_access()
    assert r.status_code == 201, r.text
    rid = r.json()["request"]["id"]
    again = request_access()
    assert again.json()["request"]["id"] == rid  # a retry never writes twice
    assert http.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c2")).status_code == 200
    r = http.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth("c3"))
    assert r.status_code == 200, r.text
    gid = r.json()["grant"]["id"]

    r = http.get(f"/api/v1/datasets/{did}/data", headers=api.auth("dept_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grant_id"] == gid and body["rows"] == 40 and body["grantee_id"] == MEMBER_IDS["dept_a"]
    assert original not in r.content and "合成居民".encode() not in r.content
    assert decrypt(grantee_key, body) == original
    assert body["content_hash"] == "0x" + keccak(original).hex() == body["payload_hash"]
    grant = DataSharing(deployment.ledger()).grant(gid)
    assert grant.accesses == 1
    log = http.get("/api/v1/access-log", params={"grant_id": gid}, headers=api.auth("c2")).json()
    assert (
        log["count"] == 1 and log["data"][0]["kind"] == "access" and log["data"][0]["tx_hash"] == body["tx"]["tx_hash"]
    )


def _demo(ganache_factory, tmp_path) -> tuple[Any, Any, dict[str, Any], list[str]]:  # type: ignore[no-untyped-def]
    """A fresh Ganache with the suite deployed and the demo members admitted: (ctx, ledger, signers, said)."""
    from cogov.demo import bootstrap
    from ledger.config import Settings
    from tests.conftest import TEST_PASSWORD

    g = ganache_factory("demo")
    settings = Settings(env="test", rpc_urls=[g.config.url], keystore_dir=tmp_path / "keys",
                        manifest_path=tmp_path / "deployment.json",
                        gateway_store_dir=tmp_path / "gw", gateway_master_key_file=tmp_path / "master.key")
    said: list[str] = []
    ctx = bootstrap(settings, TEST_PASSWORD, said.append, state_dir=tmp_path / "state")
    led, signers = ctx.ledger, ctx.signers
    return ctx, led, signers, said


def test_demo_seed_is_idempotent(ganache_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cogov.demo.data import BINS, CATALOG, CLINICS, ELDERLY, FACILITIES, seed
    from ledger.data import Classification, GrantState, RequestState
    from ledger.gateway.metadata import load_metadata

    ctx, led, signers, said = _demo(ganache_factory, tmp_path)
    seed(ctx)
    ds = DataSharing(led)
    titles = {ds.dataset(i).title: ds.dataset(i) for i in range(1, ds.dataset_count() + 1)}
    assert set(titles) == {ELDERLY, BINS, CLINICS, FACILITIES}
    assert [t for t, d in titles.items() if d.classification == Classification.PUBLIC] == [FACILITIES]
    for title, d in titles.items():  # each carries its catalog fields, under its on-chain metadata hash
        doc = load_metadata(ctx.settings.gateway_store_dir, d.metadata_hash)
        assert doc is not None and doc["description"] == CATALOG[title][0], title
        assert doc["themes"] and doc["keywords"] and doc["contact"]["name"] and doc["license"], title
    reqs = [ds.request(i) for i in range(1, ds.request_count() + 1)]
    states = sorted((r.dataset_id, r.duration, r.state) for r in reqs)
    assert [s for *_, s in states].count(RequestState.GRANTED) == 3
    assert [s for *_, s in states].count(RequestState.DENIED) == 1
    elderly = next(r for r in reqs if r.dataset_id == titles[ELDERLY].id)
    assert elderly.governance_approver == signers["shujuju"].address
    led.rpc("evm_increaseTime", [2])  # the 1-second grant: past its expiry, whatever second it was made in
    led.rpc("evm_mine", [])
    grants = [ds.grant(i) for i in range(1, ds.grant_count() + 1)]
    assert sorted(gr.state for gr in grants) == [GrantState.ACTIVE, GrantState.ACTIVE, GrantState.EXPIRED]
    before = (ds.dataset_count(), ds.request_count(), ds.grant_count(), led.block_number())
    said.clear()
    seed(ctx)
    assert (ds.dataset_count(), ds.request_count(), ds.grant_count(), led.block_number()) == before, said
    assert "虚构" in (tmp_path / "state" / "demo-data" / "elderly.csv").read_text()


def test_demo_seed_acts_only_on_its_own_records_on_a_used_chain(ganache_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 item 22: other members registered datasets with the demo's titles (one of them a demo
    owner, under another demo dataset's title); a second seed completes, finds the demo's datasets by
    (owner, title), and requests, approves or denies nothing on the others'. (It stopped with
    DataNotDatasetOwner: it found datasets by title alone.)"""
    from cogov.demo.data import BINS, CLINICS, ELDERLY, seed
    from ledger.data import Classification
    from ledger.gateway import GatewayStore, load_master_key

    ctx, led, signers, said = _demo(ganache_factory, tmp_path)
    seed(ctx)
    ds = DataSharing(led)
    demo_datasets = {ds.dataset(i).title: ds.dataset(i) for i in range(1, ds.dataset_count() + 1)}
    demo_requests = ds.request_count()
    others = []
    for label, title in (("jiedaoban", ELDERLY), ("jiedaoban", BINS), ("jiedaoban", CLINICS), ("weijianwei", ELDERLY)):
        did, _ = ds.register(
            signers[label], title, Classification.PUBLIC, keccak(text=f"m {label} {title}"), keccak(text="s"),
            keccak(text=f"c {label} {title}"), 3,
        )
        others.append(did)
    said.clear()
    seed(ctx)  # completes
    assert ds.dataset_count() == len(demo_datasets) + len(others)  # no new demo dataset
    new_requests = [ds.request(i) for i in range(demo_requests + 1, ds.request_count() + 1)]
    assert all(r.dataset_id not in others for r in new_requests), said
    for did in others:
        d = ds.dataset(did)
        assert d.version == 1 and d.refusals == 0
    every = [ds.request(i) for i in range(1, ds.request_count() + 1)]
    assert not [r for r in every if r.dataset_id in others]  # nothing requested, approved or denied on them
    # this gateway holds each demo dataset's content as its owner's upload for it
    s = ctx.settings
    store = GatewayStore(s.gateway_store_dir, load_master_key(s.gateway_master_key_file))
    for d in demo_datasets.values():
        assert keccak(store.read_bound(d.owner_id, d.content_hash, d.id, d.version)) == d.content_hash
