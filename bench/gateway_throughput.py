"""Gateway throughput vs a plain static route, and the gas of every data-sharing operation.

Starts a private Ganache with the suite deployed (bench/_common.suite), serves the API with uvicorn on
loopback, uploads a ~1 MB CSV twice (an Internal dataset, served in transparency-log mode, and a Secret
one, recorded on chain at once: the default ``COGOV_GATEWAY_SYNC_CLASSIFICATIONS=secret``), grants
both, then times sequential fetches in the same run, on the same server:

* log: ``GET /api/v1/datasets/{id}/data`` of the Internal dataset (grant check on chain, decrypt at
  rest, the access appended to the owner's log with fsync, a signed receipt, seal to the grantee's
  X25519 key; checkpoints anchored in the background);
* sync: the same of the Secret dataset (a recordAccess transaction mined per fetch);
* static: the same plaintext bytes from a plain FastAPI route in the same app.

It reports each rate, the log/static ratio (issue 17's target: >= 0.5), and the gas per recorded access
when 1,000 accesses share one checkpoint (a steady-state ``anchorCheckpoint`` / 1,000) against one
``recordAccess`` (target: <= 1/50).

    .venv/bin/python bench/gateway_throughput.py [--requests 30] [--size-mb 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from fastapi import Response


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=40, help="requests per round (five rounds per route)")
    ap.add_argument("--size-mb", type=float, default=1.0)
    ns = ap.parse_args()

    from api.apikeys import ApiKeyStore, engine_for
    from api.testing import LiveServer, make_settings
    from bench._common import suite
    from ledger.data import DataSharing, Terms, text_hash
    from ledger.data.checkpoints import AccessCheckpoints
    from ledger.gateway import open_sealed
    from ledger.testing import register_data_key

    with suite() as bench_suite:
        d, signers, root = bench_suite.deployment, bench_suite.signers, bench_suite.root
        priv = register_data_key(d, "c1")

        # ~size-mb of synthetic CSV
        lines = ["id,name,age,district,note"]
        i = 0
        target = int(ns.size_mb * 1024 * 1024)
        size = len(lines[0]) + 1
        while size < target:
            line = f"{i},合成居民{i},{70 + i % 30},区{i % 7},synthetic-row-{i:08d}"
            lines.append(line)
            size += len(line.encode()) + 1
            i += 1
        content = ("\n".join(lines) + "\n").encode()

        settings = make_settings(
            d, root / "api", index_follow=False, gateway_sync_classifications=frozenset({"secret"})
        )
        store = ApiKeyStore(engine_for(settings.service_db_url))
        tokens = {lb: store.create(lb, role, signers[lb].address, lb)[0]
                  for lb, role in (("c1", "council"), ("c2", "council"), ("c3", "data_governance"))}

        server = LiveServer(settings)
        app = server.server.config.app

        @app.get("/bench/static")  # type: ignore[misc]
        def static() -> Response:
            return Response(content, media_type="text/csv")

        # replace the factory-built app with the same app (routes already added) and serve
        with server, httpx.Client(base_url=server.url, timeout=120) as http:
            auth = {lb: {"Authorization": f"Bearer {t}"} for lb, t in tokens.items()}
            gas: dict[str, int] = {}

            grants: dict[int, int] = {}  # dataset -> its grant (a client that knows its grant names it)

            def share(classification: str, data: bytes) -> int:
                r = http.post("/api/v1/datasets", headers=auth["c2"],
                              data={"title": f"bench 1MB {classification}", "classification": classification},
                              files={"file": ("bench.csv", data, "text/csv")})
                r.raise_for_status()
                did = int(r.json()["dataset"]["id"])
                gas.setdefault("registerDataset (upload)", r.json()["tx"]["gas_used"])
                r = http.post("/api/v1/access-requests", headers=auth["c1"],
                              json={"dataset_id": did, "purpose_code": 1, "purpose": "bench", "duration": 86400})
                r.raise_for_status()
                gas.setdefault("requestAccess", r.json()["tx"]["gas_used"])
                rid = r.json()["request"]["id"]
                for who in ("c2", "c3") if classification == "secret" else ("c2",):
                    r = http.post(f"/api/v1/access-requests/{rid}/approve", headers=auth[who])
                    r.raise_for_status()
                gas.setdefault("approveAsOwner (internal: creates the grant)", r.json()["tx"]["gas_used"])
                grants[did] = int(r.json()["grant"]["id"])
                return did

            did = share("internal", content)
            secret = content + b"0,secret copy,0,0,0\n"  # another content hash: a content belongs to one dataset
            sid = share("secret", secret)
            r = http.get(f"/api/v1/datasets/{did}/data", headers=auth["c1"])
            r.raise_for_status()
            assert open_sealed(priv, r.json()["envelope"]) == content and r.json()["receipt"]["index"] == 0
            r = http.get(f"/api/v1/datasets/{sid}/data", headers=auth["c1"])
            r.raise_for_status()
            assert open_sealed(priv, r.json()["envelope"]) == secret
            gas["recordAccess (per served fetch)"] = r.json()["tx"]["gas_used"]

            def timed(fn) -> float:  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                for _ in range(ns.requests):
                    fn()
                return ns.requests / (time.perf_counter() - t0)

            # Timed rounds check the status and the answer's kind only (the answers were opened above): the
            # client's JSON parsing of a megabyte of base64 is the client's time, not the gateway's.
            def gw_fetch() -> None:
                resp = http.get(f"/api/v1/datasets/{did}/data", headers=auth["c1"], params={"grant_id": grants[did]})
                assert resp.status_code == 200 and b'"receipt":{' in resp.content[:4096], resp.text[:500]

            def gw_fetch_binary() -> None:
                resp = http.get(f"/api/v1/datasets/{did}/data", params={"grant_id": grants[did]},
                                headers={**auth["c1"], "Accept": "application/octet-stream"})
                assert resp.status_code == 200 and "x-cogov-answer" in resp.headers, resp.text[:500]

            def sync_fetch() -> None:
                resp = http.get(f"/api/v1/datasets/{sid}/data", headers=auth["c1"], params={"grant_id": grants[sid]})
                assert resp.status_code == 200 and b'"tx":{' in resp.content[:4096], resp.text[:500]

            def st_fetch() -> None:
                resp = http.get("/bench/static")
                assert resp.status_code == 200 and len(resp.content) == len(content)

            timed(st_fetch)  # warm-up: the first round of the static route runs at a third of its speed
            timed(gw_fetch)
            # Five rounds, the routes taking turns within each (the machine's drift falls on all of them
            # alike); each route's rate is its median round.
            rounds: dict[str, list[float]] = {"static": [], "json": [], "binary": []}
            for _ in range(5):
                for name, fn in (("static", st_fetch), ("json", gw_fetch), ("binary", gw_fetch_binary)):
                    rounds[name].append(timed(fn))
            static_rps, gateway_rps, binary_rps = (statistics.median(rounds[k]) for k in ("static", "json", "binary"))
            static_rps_after = min(rounds["static"])
            sync_rps = timed(sync_fetch)
            t0 = time.perf_counter()
            gw_fetch()
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            open_sealed(priv, http.get(f"/api/v1/datasets/{did}/data", headers=auth["c1"]).json()["envelope"])
            with_decrypt = time.perf_counter() - t0

            # the rest of the operations' gas, with the wrapper
            led = d.ledger()
            ds = DataSharing(led)
            s = signers
            terms = Terms(1, text_hash("p"), 0b11, 3600)
            did2, rc = ds.register(s["c2"], "bench sensitive", 2, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, 2)  # type: ignore[arg-type]
            gas["registerDataset (direct)"] = rc.gas_used
            gas["updateDatasetVersion"] = ds.update_version(s["c2"], did2, b"\x04" * 32).gas_used
            rid2, rc = ds.request_access(s["dept_a"], did2, terms)
            gas["approveAsOwner (sensitive: partial)"] = ds.approve_as_owner(s["c2"], rid2).gas_used
            gas["approveAsGovernance (creates the grant)"] = ds.approve_as_governance(s["c3"], rid2).gas_used
            gid2 = ds.request(rid2).grant_id
            gas["renewGrant (sensitive: waits for data governance)"] = ds.renew(s["c2"], gid2, 60).gas_used
            gas["approveRenewal"] = ds.approve_renewal(s["c3"], gid2, 60).gas_used
            gas["freezeGrant"] = ds.freeze_grant(s["c3"], gid2).gas_used
            gas["unfreezeGrant"] = ds.unfreeze_grant(s["c3"], gid2).gas_used
            gas["freezeMember"] = ds.freeze_member(s["c3"], 5).gas_used
            gas["unfreezeMember"] = ds.unfreeze_member(s["c3"], 5).gas_used
            _, rc = ds.record_refusal(s["c2"], did2, gid2, 6, 4, b"\x05" * 32)  # type: ignore[arg-type]
            gas["recordRefusal"] = rc.gas_used
            gas["revokeGrant"] = ds.revoke(s["c2"], gid2).gas_used
            rid3, _ = ds.request_access(s["dept_a"], did2, terms)
            gas["denyRequest"] = ds.deny(s["c2"], rid3, 1).gas_used
            rid4, _ = ds.request_access(s["dept_a"], did2, terms)
            gas["withdrawRequest"] = ds.withdraw(s["dept_a"], rid4).gas_used
            now = led.w3.eth.get_block("latest")["timestamp"]
            _, rc = ds.anchor_batch(s["c2"], b"\x06" * 32, 1000, now - 100, now)
            gas["anchorAccessBatch"] = rc.gas_used
            # a log's checkpoint: the first, then one every 1,000 accesses (steady state)
            cps = AccessCheckpoints(led)
            head = int(led.w3.eth.get_block("latest")["timestamp"])
            _, rc = cps.anchor(s["dept_a"], 1000, b"\x07" * 32, head)
            gas["anchorCheckpoint (first of a log)"] = rc.gas_used
            _, rc = cps.anchor(s["dept_a"], 2000, b"\x08" * 32, head)
            gas["anchorCheckpoint (every 1,000 accesses)"] = rc.gas_used

        print(json.dumps({
            "dataset_bytes": len(content),
            "requests": ns.requests,
            "static_route_rps": round(static_rps, 1),
            "static_route_rps_slowest_round": round(static_rps_after, 1),
            "rounds_rps": {k: [round(x, 1) for x in v] for k, v in rounds.items()},
            "gateway_log_mode_rps": round(gateway_rps, 1),
            "gateway_log_mode_binary_rps": round(binary_rps, 1),
            "gateway_sync_mode_rps": round(sync_rps, 1),
            "log_mode_vs_static": round(gateway_rps / (static_rps), 3),
            "log_mode_binary_vs_static": round(binary_rps / (static_rps), 3),
            "sync_mode_vs_static": round(sync_rps / (static_rps), 3),
            "gas_per_access_log_mode_at_1000": round(gas["anchorCheckpoint (every 1,000 accesses)"] / 1000, 1),
            "gas_per_access_sync_mode": gas["recordAccess (per served fetch)"],
            "gateway_single_fetch_ms": round(one * 1000, 1),
            "gateway_fetch_plus_client_decrypt_ms": round(with_decrypt * 1000, 1),
            "gas": gas,
        }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
