"""Reads measured at the server: wrk against every list route of the API and every portal page,
each beside a bare FastAPI ``async def`` endpoint on the same server, in the same run.

One private Ganache with the standard deployment. 100,000 access events are emitted from the
deployment's DataSharing address (bench/index_reads.py ``emit_events(at=...)``: BenchEventSource's
code put there for the emission with Ganache's ``evm_setAccountCode``, then the contract's own
code and storage put back), and ``_common.seed_full_pages`` writes a full page and one more (51)
of every object a list shows through the library's wrappers: members and council proposals,
datasets, access requests, grants, projects, motions, votes, contributions, payouts, refunds,
cases (about a minute). The server is ``cogov``'s app under uvicorn in its own process, run the
way ``cogov serve`` runs it (``uvicorn.run`` with ``log_level="info"``, the access log off as by
default), over the deployment's index (its contracts, as ``start_index`` indexes them; synced
into SQLite at its start), with the index follower thread on. The bench adds one route to that app, ``GET /bench/bare``
(``async def``, a small JSON answer): same process, same middleware, same uvicorn.

Each route is measured with ``wrk -t2 -c50 --latency`` (a Lua ``done`` hook prints
the request count, p50, p99 and the error counts as JSON) for ``--seconds`` seconds,
and the bare endpoint right before it and after the last route, so every route
has a bare run on each side (its ratio is to their mean). Rate limits are off for
the bench (``COGOV_RATE_LIMIT_PER_MINUTE=0`` for the API key,
``COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE=0`` for the portal): the figures measure
the server, not the limiter. The server times every round of its index follower
(thread CPU and wall clock, idle and full rounds apart: ``follower_rounds`` in the results);
``--follower-full-every 0`` makes every round a full one, as the follower did before e61e8d7.

Routes: every ``GET`` route of the API with a ``limit`` query parameter and no path parameter
(called with ``limit=50``), ``/api/v1/public/*``, and every portal page without a path parameter
(the HTML routes outside the API's OpenAPI schema; ``/api/v1/audit/report.html`` is in it and is
neither a list nor a page, so it is left out). Each API route is called with the API key of a
role it admits, read from the app (the ``require_role`` dependency in its tree:
``RoleCheck.roles``; an auditor's key when it admits any key, else its first role), signing as
the account the API tests give that role (api/testing.py ``KEY_ROLES``). The service database
holds ``--reports`` residents' Open311 reports (1,000 by default), so the sub-district's queue
(``/api/v1/cases/reports``) lists real rows; the portal's contribution search (``/contributions``,
empty without ``q``) is asked for the resident's account (51 contributions). Each row records
its answer's size (``bytes``) and, for a list, its items (``items``). Targets (issue 18): req/s
>= 0.5 of the bare endpoint, p99 <= 3 x p50, no answer other than 2xx, and every list called with
``limit=50`` answering 50 items (``SHORT_BY_NATURE`` names the exceptions: none): any other
answer fails the run (the results are written, then the bench exits 1 naming the routes).
``--sized-bare`` measures each route beside a bare ``async def`` answering as many bytes too.

    .venv/bin/python bench/http_reads.py [--quick] [--events N] [--seconds S] [--only SUBSTRING] [--repeat N]
                                         [--sized-bare] [--profile DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

BARE = "/bench/bare"
FULL = 50  # the page every list is called for (limit=50): each must answer that many items
#: Lists whose objects cannot reach a full page on the bench's chain, and why (none today).
SHORT_BY_NATURE: dict[str, str] = {}
ROUNDS = "/bench/follower-rounds"

WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

SERVER = r'''
import json, sys, time, uvicorn
sys.path.insert(0, {root!r})
from fastapi.routing import iter_route_contexts
from fastapi.responses import HTMLResponse, Response
from api.main import create_app
from api.state import ServiceState
from ledger.config import Settings
from ledger.index import Indexer
settings = Settings()
state = ServiceState.build(settings)
m = state.manifest
# the deployment's contracts, as start_index() indexes them; synced before the follower starts
state.index = Indexer(state.ledger, {{name: dep.address for name, dep in m.contracts.items()}},
                      settings.index_db_url, start_block=m.start_block)
took = time.perf_counter()
synced = state.index.sync()
open({synced_file!r}, "w").write(json.dumps({{"events": state.index.count(), "synced": synced.events,
                                             "sync_s": round(time.perf_counter() - took, 1)}}))
follower = state._follower
rounds = []  # (full, thread CPU s, wall s) of every round of the follower thread
if {full_every!r} is not None:
    follower.full_every = {full_every!r}
plain_round = follower.round


def timed_round() -> bool:
    cpu, wall = time.thread_time(), time.perf_counter()
    full = plain_round()
    rounds.append((full, time.thread_time() - cpu, time.perf_counter() - wall))
    return full


follower.round = timed_round
if settings.index_follow:  # start_index() keeps an index it did not build: start its follower here
    follower.start()
app = create_app(settings, state=state)


@app.get({rounds_path!r}, include_in_schema=False)
def follower_rounds() -> dict[str, object]:
    """The follower's rounds so far: how many, how many full, their CPU (the GIL it held, at most)."""
    got = list(rounds)
    out = {{"rounds": len(got), "full": sum(1 for r in got if r[0])}}
    for kind, pick in (("idle", False), ("full", True)):
        cpu = sorted(r[1] * 1000 for r in got if r[0] is pick)
        wall = sorted(r[2] * 1000 for r in got if r[0] is pick)
        if cpu:
            out[kind + "_cpu_ms"] = {{"mean": round(sum(cpu) / len(cpu), 2), "max": round(cpu[-1], 2)}}
            out[kind + "_wall_ms"] = {{"mean": round(sum(wall) / len(wall), 2), "max": round(wall[-1], 2)}}
    return out


@app.get({bare!r}, include_in_schema=False)
async def bare() -> dict[str, object]:
    return {{"ok": True, "n": 1}}


FILLER = b"x" * 4_000_000


@app.get({bare!r} + "-sized", include_in_schema=False)
async def bare_sized(n: int = 0) -> Response:
    """As bare, answering ``n`` bytes (a slice of a prebuilt buffer): what sending that many costs."""
    return Response(FILLER[:n], media_type="text/html; charset=utf-8")


def admitted(dependant):
    """The roles the first role check in a route's dependency tree admits (None: any key)."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        found = [r.name.lower() for r in roles] if roles is not None else admitted(dep)
        if found is not None:
            return found
    return None


api_paths = app.openapi()["paths"]
routes = []  # the API's lists (in its OpenAPI schema) and the portal's pages (HTML, not in it)
for c in iter_route_contexts(app.routes):
    if "GET" not in (c.methods or ()) or "{{" in c.path:
        continue
    if c.path in api_paths:
        params = api_paths[c.path].get("get", {{}}).get("parameters", [])
        takes_limit = any(p["name"] == "limit" and p["in"] == "query" for p in params)
        public = c.path.startswith("/api/v1/public/")
        if takes_limit or public:
            routes.append({{"path": c.path + ("?limit=50" if takes_limit else ""), "page": public,
                            "roles": None if public else admitted(c.dependant)}})
        continue
    rc = getattr(c, "response_class", None)
    rc = getattr(rc, "value", rc)
    if rc is HTMLResponse:
        routes.append({{"path": c.path, "page": True}})
open({routes_file!r}, "w").write(json.dumps(routes))
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="info", access_log=False,  # as `cogov serve` runs it
            loop={loop!r}, http={http!r})
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="6,000 events, 2 s a route")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="wrk duration per route (default 5, 2 with --quick)")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--loop", choices=("auto", "asyncio"), default="auto",
                    help="uvicorn's loop: auto (uvloop and httptools when installed) or asyncio with h11")
    ap.add_argument("--follower-full-every", type=float, default=None,
                    help="seconds between the index follower's full rounds while nothing moves (default: the "
                         "library's FULL_EVERY); 0: every round a full one (check, health, sync), as before e61e8d7")
    ap.add_argument("--only", default=None,
                    help="measure only the routes whose path contains this (several: separated by commas)")
    ap.add_argument("--repeat", type=int, default=1, help="measure each route this many times (a row each)")
    ap.add_argument("--reports", type=int, default=1_000,
                    help="residents' Open311 reports in the service database (the sub-district's queue)")
    ap.add_argument("--sized-bare", action="store_true",
                    help="also measure each route beside a bare async def answering as many bytes "
                         "(sized_bare_per_s, ratio_to_sized_bare): what its size alone costs")
    ap.add_argument("--seed", type=int, default=C.FULL_PAGE,
                    help="objects of each kind to write (default 51: a full page and one more; fewer fails the run)")
    ap.add_argument("--name", default="http_reads", help="results file bench/results/<name>.json")
    ap.add_argument("--profile", type=Path, default=None,
                    help="a folder: py-spy (PyPI) records the server during each route's run, collapsed stacks "
                         "(<route>.txt, py-spy's raw format; flamegraph.pl or speedscope draw them)")
    ns = ap.parse_args()
    n_events = ns.events or (6_000 if ns.quick else 100_000)
    seconds = ns.seconds or (2.0 if ns.quick else 5.0)
    wrk = wrk_binary()

    from index_reads import emit_events

    with C.suite("cogov-bench-http-") as s:
        emit_events(s, n_events, at=s.deployment.ledger().manifest.address("DataSharing"))
        C.say(f"seeding {ns.seed} of every list's objects")
        took = time.perf_counter()
        seeded = C.seed_full_pages(s, ns.seed)
        seeded["seconds"] = round(time.perf_counter() - took, 1)
        C.say(f"seeded: {seeded}")
        proc, url, log, routes, index = start_server(s, ns.loop, ns.follower_full_every, ns.reports)
        asked = page_queries(s)  # a page that lists nothing until asked: asked for a full page of its objects
        routes = [r | {"path": r["path"] + q} for r in routes for q in asked.get(r["path"], [""])]
        try:
            if ns.only:
                routes = [r for r in routes if any(part in r["path"] for part in ns.only.split(","))]
            profiler = Profiler(ns.profile, proc.pid, seconds) if ns.profile else None
            load = {"start": round(os.getloadavg()[0], 2)}
            rows = measure_all(wrk, url, routes, seconds, ns.connections, profiler, ns.repeat, ns.sized_bare)
            load["end"] = round(os.getloadavg()[0], 2)
            rounds = follower_rounds(url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    C.emit(ns.name, {
        "events_in_index": index["events"],
        "bulk_access_events": n_events,
        "index_sync": index,
        "seeded": seeded,
        "full_page": FULL,
        "short_by_nature": SHORT_BY_NATURE,
        "wrk": {"threads": 2, "connections": ns.connections, "seconds_per_route": seconds},
        "uvicorn_loop": ns.loop,
        "load_avg_1m": load,
        "rate_limits": "off for the bench (COGOV_RATE_LIMIT_PER_MINUTE=0, COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE=0)",
        "open311_reports": ns.reports,
        "targets": {"ratio_to_bare": 0.5, "p99_over_p50": 3, "non2xx": 0},
        "follower_full_every_s": ns.follower_full_every,
        "follower_rounds": rounds,
        "routes": rows,
    })
    failed = sorted({r["route"] for r in rows if r["failed"] or r["first_status"] != 200})
    short = sorted({r["route"] for r in rows if not r["full_page"]})
    if failed or short:
        raise SystemExit("the run does not count: "
                         + (f"answers other than 2xx: {', '.join(failed)}; " if failed else "")
                         + (f"lists short of a full page ({FULL} items): {', '.join(short)}" if short else ""))


def wrk_binary() -> str:
    """wrk's path (``make bench`` installs Debian's ``wrk`` when it is missing)."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    return found


def start_server(s: C.Suite, loop: str = "auto", full_every: float | None = None,
                 reports: int = 0) -> tuple[Any, str, Any, list[dict[str, Any]], dict[str, Any]]:
    """The read server over the deployment's index (synced at its start) and ``reports``
    residents' reports: (process, URL, log file, routes to measure, each with the headers to
    send: an API key of a role it admits, the index: its events and the seconds its sync took)."""
    import httpx
    from throughput import api_env

    from api.apikeys import engine_for
    from ledger.process import free_port

    directory = s.root / "api"
    directory.mkdir(exist_ok=True)
    env = api_env(s, directory)
    env["COGOV_ANONYMOUS_RATE_LIMIT_PER_MINUTE"] = "0"
    engine = engine_for(env["COGOV_SERVICE_DB_URL"])
    try:
        add_reports(engine, reports)
    finally:
        engine.dispose()
    port = free_port()
    routes_file, synced_file = directory / "routes.json", directory / "synced.json"
    script = directory / "serve.py"
    script.write_text(SERVER.format(root=str(C.ROOT), port=port, synced_file=str(synced_file),
                                    bare=BARE, rounds_path=ROUNDS, full_every=full_every,
                                    routes_file=str(routes_file), loop=loop,
                                    http="h11" if loop == "asyncio" else "auto"))
    log = open(directory / "serve.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900  # a loaded machine imports slowly, and the server syncs the index first
    while True:
        try:
            if httpx.get(url + BARE, timeout=1).status_code == 200:
                routes = with_keys(s, env["COGOV_SERVICE_DB_URL"], json.loads(routes_file.read_text()))
                return proc, url, log, routes, json.loads(synced_file.read_text())
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the read server did not start: " + (directory / "serve.log").read_text()[-2000:])
        time.sleep(0.2)


def add_reports(engine: Any, n: int) -> None:
    """``n`` residents' reports, as the Open311 route stores them (one a minute, the newest now)."""
    from api.open311.store import Contact, NewReport, ReportStore

    store, now = ReportStore(engine), int(time.time())
    for k in range(n):
        new = NewReport(1 + k % 4, f"bench report {k}: 垃圾桶满溢", 39.92 + k * 1e-5, 116.44, f"幸福里 {k % 40} 号楼",
                        None, Contact(phone="+86 138 0000 0000"), "ip:127.0.0.1")
        store.add(new, now=now - 60 * (n - k))
    store.close()


def with_keys(s: C.Suite, service_db: str, routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each API route with the headers of a key of a role it admits (an auditor's when it admits
    any), signing as the account the API tests give that role (api/testing.py ``KEY_ROLES``);
    pages and public routes with none."""
    from api.apikeys import ApiKeyStore, engine_for
    from api.testing import KEY_ROLES

    engine = engine_for(service_db)
    store, tokens = ApiKeyStore(engine), {}
    try:
        for r in routes:
            if r["page"]:
                r["role"], r["headers"] = None, {}
                continue
            admits = r.get("roles")
            role = "auditor" if admits is None or "auditor" in admits else admits[0]
            if role not in tokens:
                label = next(label for label, its in KEY_ROLES.items() if its == role)  # as the API tests sign
                tokens[role], _ = store.create(f"bench-{role}", role, s.signers[label].address, label)
            r["role"], r["headers"] = role, {"Authorization": f"Bearer {tokens[role]}"}
    finally:
        store.verdicts.close()
        engine.dispose()
    return routes


def page_queries(s: C.Suite) -> dict[str, list[str]]:
    """Portal pages that list nothing without a query, and the queries that list a full page:
    the contribution search (``/contributions``, empty without ``q``) for the resident's account,
    whose 51 contributions :func:`_common.seed_full_pages` made, spelled as a wallet shows it
    (checksummed: not the page's canonical query, so never filed at the front door: the route
    answers it from its page cache) and as the page spells it (lowercase: the front door's)."""
    account = s.signers["resident"].address
    return {"/contributions": [f"?q={account}", f"?q={account.lower()}"]}


def items_of(answer: Any) -> int | None:
    """The items of a list's answer (its ``data``: ``XList(data, count)``); None for anything else."""
    try:
        body = answer.json()
    except ValueError:
        return None
    data = body.get("data") if isinstance(body, dict) else None
    return len(data) if isinstance(data, list) else None


def follower_rounds(url: str) -> dict[str, Any]:
    """The server's index follower rounds during the run: counts, CPU and wall time per idle and full round."""
    import httpx

    answer: dict[str, Any] = httpx.get(url + ROUNDS, timeout=60).json()
    return answer


def run_wrk(wrk: str, url: str, headers: dict[str, str], seconds: float, connections: int) -> dict[str, Any]:
    """One wrk run: requests/s, p50/p99 in ms, and the failed answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        lua = f.name
    args = [wrk, "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", lua]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    Path(lua).unlink()
    drain(url)
    fig = json.loads(out.strip().splitlines()[-1])
    errors = fig["connect"] + fig["read"] + fig["write"] + fig["timeout"]
    return {"per_s": round(fig["requests"] / (fig["duration_us"] / 1e6), 1), "p50_ms": round(fig["p50_us"] / 1000, 2),
            "p99_ms": round(fig["p99_us"] / 1000, 2), "requests": fig["requests"], "non2xx": fig["non2xx"],
            "errors": errors, "failed": fig["non2xx"] + errors}


def drain(url: str) -> None:
    """Wait until the server has answered what wrk left in flight (one request to the bare
    endpoint comes back), so the next run starts on an idle server."""
    import httpx

    base = url.split("/", 3)
    httpx.get("/".join(base[:3]) + BARE, timeout=120)


class Profiler:
    """py-spy recording the server process while wrk loads one route."""

    def __init__(self, folder: Path, pid: int, seconds: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.pid, self.seconds = folder, pid, seconds
        self.running: Any = None

    def start(self, route: str) -> None:
        name = route.strip("/").replace("/", "_").replace("?", "_") or "index"
        spy = str(Path(sys.executable).parent / "py-spy")
        out = str(self.folder / f"{name}.txt")
        self.running = subprocess.Popen([spy, "record", "--pid", str(self.pid), "--duration", str(round(self.seconds)),
                                         "--rate", "200", "--format", "raw", "--output", out],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.running is not None:
            self.running.wait(timeout=self.seconds + 60)
            self.running = None


def measure_all(wrk: str, url: str, routes: list[dict[str, Any]], seconds: float, connections: int,
                profiler: Profiler | None = None, repeat: int = 1, sized_bare: bool = False) -> list[dict[str, Any]]:
    """Each route (``repeat`` times) with a bare run before it (and one after the last): interleaved.
    ``sized_bare``: each also beside the bare endpoint answering as many bytes as the route."""
    import httpx

    bares = [run_wrk(wrk, url + BARE, {}, seconds, connections)]
    rows: list[dict[str, Any]] = []
    for r in [r for r in routes for _ in range(repeat)]:
        path, headers = r["path"], r["headers"]
        warm = httpx.get(url + path, headers=headers, timeout=120)  # warm the caches; must be 200
        status = warm.status_code
        if profiler:
            profiler.start(path)
        fig = run_wrk(wrk, url + path, headers, seconds, connections)
        if profiler:
            profiler.stop()
        bares.append(run_wrk(wrk, url + BARE, {}, seconds, connections))
        bare = (bares[-2]["per_s"] + bares[-1]["per_s"]) / 2
        items = items_of(warm)
        row = {"route": path, "kind": "page" if r["page"] else "api", "key_role": r["role"], "first_status": status,
               "bytes": len(warm.content), "items": items,
               # a list (called with limit=50) answers a full page unless its objects cannot reach one
               "full_page": "limit=" not in path or path.split("?")[0] in SHORT_BY_NATURE
               or (items is not None and items >= FULL), **fig,
               "bare_per_s": round(bare, 1), "ratio_to_bare": round(fig["per_s"] / bare, 3),
               "p99_over_p50": round(fig["p99_ms"] / max(fig["p50_ms"], 1e-3), 2),
               # the bare endpoint's own tail in the same two runs: what the machine does to any route
               "bare_p99_over_p50": round(sum(b["p99_ms"] / max(b["p50_ms"], 1e-3) for b in bares[-2:]) / 2, 2)}
        if sized_bare:
            sized = run_wrk(wrk, f"{url}{BARE}-sized?n={len(warm.content)}", {}, seconds, connections)
            row |= {"sized_bare_per_s": sized["per_s"], "ratio_to_sized_bare": round(fig["per_s"] / sized["per_s"], 3),
                    "sized_bare_p99_over_p50": round(sized["p99_ms"] / max(sized["p50_ms"], 1e-3), 2)}
        row["meets"] = row["ratio_to_bare"] >= 0.5 and row["p99_over_p50"] <= 3 and not fig["failed"] and status == 200
        rows.append(row)
        C.say(json.dumps(row))
    C.say(f"bare runs (req/s): {[b['per_s'] for b in bares]}")
    return rows


if __name__ == "__main__":
    main()
