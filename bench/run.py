"""Run every benchmark, then write bench/RESULTS.md from bench/results/*.json.

    .venv/bin/python bench/run.py            # full sizes (make bench)
    .venv/bin/python bench/run.py --quick    # small sizes, for checking a change (make bench-quick)
    .venv/bin/python bench/run.py --report   # only rewrite RESULTS.md from the last results

Benchmarks are not tests: nothing here asserts a time. Each one prints its
figures with the environment and writes bench/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
GETH = BENCH.parent / ".cogov" / "bin" / "geth"
PY = sys.executable


def run(name: str, args: list[str], log: list[str]) -> bool:
    t0 = time.perf_counter()
    print(f"== {name}: {' '.join(args)}", file=sys.stderr, flush=True)
    proc = subprocess.run([PY, *args], cwd=BENCH.parent, capture_output=True, text=True)
    took = time.perf_counter() - t0
    sys.stderr.write(proc.stderr[-4000:])
    sys.stdout.write(proc.stdout)
    log.append(f"{name}: exit {proc.returncode} in {took:.0f} s")
    if name == "audit_scaling":
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "audit_scaling.txt").write_text(proc.stdout + proc.stderr[-2000:], encoding="utf-8")
    return proc.returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report", action="store_true")
    ns = ap.parse_args()
    q = ["--quick"] if ns.quick else []
    log: list[str] = []
    t0 = time.perf_counter()
    if not ns.report:
        run("gas", ["bench/gas.py"], log)
        run("throughput", ["bench/throughput.py", *q, *(["--skip-api"] if ns.quick else [])], log)
        if GETH.is_file():  # `make geth`: the same writes on a 1-node geth Clique (1 s blocks), as Besu would mine them
            run("throughput_geth", ["bench/throughput.py", "--chain", "geth", "--count", "60" if ns.quick else "200",
                                    *(["--skip-api"] if ns.quick else [])], log)
        else:
            log.append("throughput_geth: skipped (no .cogov/bin/geth: `make geth` builds it)")
        run("index_reads", ["bench/index_reads.py", *q], log)
        run("http_reads", ["bench/http_reads.py", *q], log)
        run("translog", ["bench/translog.py", *q], log)
        if (BENCH / "audit_scaling.py").is_file() and not ns.quick:
            run("audit_scaling", ["bench/audit_scaling.py"], log)
        if not ns.quick:
            run("gateway_throughput", ["bench/gateway_throughput.py"], log)
    write_report(ns.quick, log, time.perf_counter() - t0)
    print("\n".join(log), file=sys.stderr)
    return 0


def _load(name: str) -> dict[str, Any] | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else ("meets" if ok else "**misses**")


def _reads_section(reads: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    """RESULTS.md's section 4: every route beside the bare endpoint, and the previous run's figures."""
    w = reads["wrk"]
    load = reads.get("load_avg_1m") or {}
    out = ["", f"## 4. Reads under wrk ({w['threads']} threads, {w['connections']} connections, "
           f"{w['seconds_per_route']} s a route, {reads['events_in_index']:,} events indexed; bench/http_reads.py)", "",
           f"Rate limits: {reads['rate_limits']}. Each route's bare figure is the mean of the bare "
           "`async def` endpoint's runs right before and after it, on the same server; \"bare p99/p50\" is that "
           "endpoint's own tail in the same runs (what the machine does to any route). "
           f"Machine load (1 min) at the start and the end of the measurements: {load.get('start', '?')}, "
           f"{load.get('end', '?')}. \"key\": the role of the API key each route is called with (one it admits; "
           f"— for the portal's pages and public routes); {reads.get('open311_reports', 0):,} residents' reports in "
           "the service database.", "",
           "\"items\": the list's items in the answer (— for pages), \"bytes\": its size; a list short of a full "
           "page (50) fails the run.", "",
           "| route | key | items | bytes | req/s | bare req/s | ratio | p50 ms | p99 ms | p99/p50 | bare p99/p50 "
           "| non-2xx | errors |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for f in reads["routes"]:
        key = f.get("key_role", "auditor" if f["kind"] == "api" else None)  # earlier runs: an auditor's for all
        items = f.get("items")
        out.append(f"| `{f['route']}` | {key or '—'} | {'—' if items is None else items} | {f.get('bytes', '—')} "
                   f"| {f['per_s']} | {f['bare_per_s']} "
                   f"| {f['ratio_to_bare']} | {f['p50_ms']} "
                   f"| {f['p99_ms']} | {f['p99_over_p50']} | {f.get('bare_p99_over_p50', '—')} "
                   f"| {f.get('non2xx', f['failed'])} | {f.get('errors', '—')} |")
    if before:
        was = {f["route"]: f for f in before["routes"]}
        out += ["", f"Before (`results/http_reads_before.json`, {before['events_in_index']:,} events, "
                f"{before['environment'].get('time')}) → now:", "",
                "| route | ratio before → now | p99/p50 before → now |", "| --- | ---: | ---: |"]
        for f in reads["routes"]:
            b = was.get(f["route"])
            if b is not None:
                out.append(f"| `{f['route']}` | {b['ratio_to_bare']} → {f['ratio_to_bare']} "
                           f"| {b['p99_over_p50']} → {f['p99_over_p50']} |")
    return out


def write_report(quick: bool, log: list[str], took: float) -> None:
    gas, tput, idx, reads = _load("gas"), _load("throughput"), _load("indexing"), _load("http_reads")
    env = next((r["environment"] for r in (tput, idx, gas) if r), {})
    out = ["# Benchmark results", ""]
    how = (f"Generated by `bench/run.py{' --quick' if quick else ''}` ({took:.0f} s)" if log else
           "Rewritten by `bench/run.py --report` from `bench/results/*.json` (each file records its run's environment and time)")
    out.append(f"{how}. Every figure is a ratio "
               "measured side by side in one run on one chain; absolute times on shared 2-core machines are noise.")
    out.append("")
    out.append(f"Environment: {env.get('cpus')} CPUs (load {env.get('load_avg_1m')}), Python {env.get('python')}, "
               f"Node {env.get('node')}, Ganache {env.get('ganache')}, web3 {env.get('web3')}, eth-account "
               f"{env.get('eth-account')}, coincurve {env.get('coincurve')}, FastAPI {env.get('fastapi')}, "
               f"SQLAlchemy {env.get('sqlalchemy')}.")
    out += ["", "## Summary", "", "| # | figure | measured | target | verdict |", "| --- | --- | --- | --- | --- |"]
    for run_ in (tput, _load("throughput_geth")):
        if not run_:
            continue
        node = "geth, 1 s blocks" if run_.get("chain") == "geth" else "Ganache"
        n = run_.get("concurrency", 16)
        for op, f in run_["operations"].items():
            b = f.get("library_over_raw")
            out.append(f"| 1 | {op} ({node}): library ({n} threads, default pre-flight) / raw | {b} "
                       f"({f.get('library_tps')} vs {f['raw_tps']} tx/s; {f.get('library_failed_calls', 0)} calls unanswered) "
                       f"| ≥ 0.9 | {_mark(b is not None and b >= 0.9 and not f.get('library_failed_calls'))} |")
            b2 = f.get("library_no_preflight_over_raw")
            out.append(f"| 1 | {op} ({node}): library ({n} threads, `preflight=False`) / raw | {b2} "
                       f"({f.get('library_no_preflight_tps')} tx/s) | ≥ 0.9 | {_mark(b2 is not None and b2 >= 0.9)} |")
            c = f.get("api_over_raw")
            if c is not None:
                out.append(f"| 1 | {op} ({node}): HTTP API ({n} clients) / raw | {c} ({f.get('api_tps')} tx/s; "
                           f"{f.get('api_failed_calls', 0)} failed) | ≥ 0.7 | {_mark(c >= 0.7 and not f.get('api_failed_calls'))} |")
            else:
                out.append(f"| 1 | {op} ({node}): HTTP API / raw | not measured ({f.get('api_note') or 'quick run skips the API'}) "
                           "| ≥ 0.7 | — |")
    if gas:
        for name, cmp in gas["comparisons"].items():
            r = cmp["ratio_ours_over_stock"]
            out.append(f"| 2 | gas, {name}: ours / stock OpenZeppelin | {r} ({cmp['ours']:,} vs {cmp['stock']:,}) | < 1 | {_mark(r < 1)} |")
    if idx:
        r = idx["ratio_indexer_over_bare"]
        out.append(f"| 3 | indexer sync / bare eth_getLogs, {idx['events']:,} events | {r} "
                   f"({idx['indexer_events_per_s']:,.0f} vs {idx['bare_getlogs_events_per_s']:,.0f} events/s) | ≥ 0.5 | {_mark(r >= 0.5)} |")
    if reads:
        for f in reads["routes"]:
            out.append(f"| 4 | `{f['route']}` ({f['kind']}): wrk req/s / bare `async def`, {reads['events_in_index']:,} "
                       f"events | {f['ratio_to_bare']} ({f['per_s']} vs {f['bare_per_s']}; p99/p50 {f['p99_over_p50']}; "
                       f"{f['failed']} failed) | ≥ 0.5, p99 ≤ 3 × p50 | {_mark(f['meets'])} |")
    translog = _load("translog")
    if translog:
        big = translog["sizes"][-1]
        out.append(f"| 6 | transparency log at {big['entries']:,} entries: inclusion proof | {big['inclusion']['hashes_max']} "
                   f"hashes ({big['inclusion']['bytes_max']} bytes), {big['inclusion']['generate_ms_mean']} ms to make, "
                   f"{big['inclusion']['verify_ms_mean']} ms to verify | O(log n) | "
                   f"{_mark(big['inclusion']['hashes_max'] <= big['entries'].bit_length())} |")
    audit = RESULTS / "audit_scaling.txt"
    scaling = _load("audit_scaling")
    if scaling and scaling.get("ratio") and not quick:
        r = scaling["ratio"]
        by_size = {run["events"]: run for run in scaling.get("runs", [])}
        small, big = (by_size.get(n) for n in (10_000, 100_000))
        times = f"{small['seconds']} s vs {big['seconds']} s; " if small and big else ""
        out.append(f"| 5 | `cogov audit verify` 100,000 / 10,000 events ({scaling.get('chain')}) | total time ×{r['total_time']} "
                   f"({times}above the setup-only chain ×{r['variable_time']}; auditor CPU ×{r['auditor_cpu']}, "
                   f"auditor + node CPU ×{r['auditor_plus_node_cpu']}) | ≈ 10 (linear) | "
                   f"{_mark(0.5 * r['events'] <= r['auditor_plus_node_cpu'] <= 1.5 * r['events'])} |")
    elif audit.is_file() and not quick:
        out.append("| 5 | `cogov audit verify` 100,000 / 10,000 events | see below (bench/audit_scaling.py) | ≈ 10 | see below |")
    else:
        out.append("| 5 | `cogov audit verify` 100,000 / 10,000 events | TODO: not measured in this run "
                   "(`bench/audit_scaling.py`, run by the full `make bench`) | ≈ 10 | — |")
    if gas:
        out += ["", "## 2. Gas per state-changing function (normal case)", "",
                "Snapshot: `bench/gas-snapshot.json`; `make gas-check` (in `make ci`) fails when any row rises.", "",
                "| function | gas |", "| --- | ---: |"]
        out += [f"| {k} | {v:,} |" for k, v in gas["gas"].items()]
        out += ["", "Stock-parts comparison, step by step:", ""]
        for name, cmp in gas["comparisons"].items():
            steps = ", ".join(f"{k} {v:,}" for k, v in cmp["stock_steps"].items())
            out.append(f"- **{name}**: ours {cmp['ours']:,} ({cmp['ours_steps']}); stock {cmp['stock']:,} "
                       f"({cmp['stock_parts']}: {steps}); ratio {cmp['ratio_ours_over_stock']}.")
    if reads:
        out += _reads_section(reads, _load("http_reads_before"))
    if translog:
        b, a = translog["build"], translog["fsync_appends"]
        out += ["", "## 6. The access transparency log (bench/translog.py)", "",
                f"Built once: {b['entries']:,} entries in {b['seconds']} s ({b['per_second']:,}/s, one fsync round per "
                f"{b['batch']:,}), {b['disk_bytes_per_entry']} bytes on disk per entry; reopened (tail check only) in "
                f"{translog['reopen_ms']} ms. Single appends, each fsynced before it returns: {a['per_second']:,}/s "
                f"(p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms).", "",
                "| entries | root ms | inclusion hashes (bytes) | make / verify ms | consistency hashes (bytes) "
                "| make / verify ms |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in translog["sizes"]:
            i, c = r["inclusion"], r["consistency"]
            out.append(f"| {r['entries']:,} | {r['root_ms']} | {i['hashes_max']} ({i['bytes_max']}) | "
                       f"{i['generate_ms_mean']} / {i['verify_ms_mean']} | {c['hashes_max']} ({c['bytes_max']}) | "
                       f"{c['generate_ms_mean']} / {c['verify_ms_mean']} |")
    if audit.is_file() and not quick:
        out += ["", "## 5. Audit scaling (bench/audit_scaling.py output)", "", "```", audit.read_text()[-3000:].strip(), "```"]
    notes = BENCH / "NOTES.md"
    if notes.is_file():
        out += ["", notes.read_text(encoding="utf-8").strip()]
    if log:
        out += ["", "## This run", "", *[f"- {line}" for line in log]]
    out.append("")
    (BENCH / "RESULTS.md").write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
