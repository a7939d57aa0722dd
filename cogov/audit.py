"""``cogov audit``: verify the ledger from the chain alone and report what was found."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from cogov import output as out
from cogov.context import env

if TYPE_CHECKING:
    from ledger.audit.findings import AuditReport
    from ledger.audit.runner import Progress

audit_app = typer.Typer(help="The auditor: verify everything from the chain alone.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the machine report (JSON) to FILE.")] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Write the self-contained HTML report to FILE.")
    ] = None,
    documents: Annotated[
        Path | None,
        typer.Option(
            "--documents",
            help="Folder of off-chain files, one per on-chain record in its slot (receipts/<id>.*, invoices/, "
            "datasets/, purposes/, ...) or shared explicitly through SHARED.json.",
        ),
    ] = None,
    batches: Annotated[
        list[Path] | None, typer.Option("--batch", help="A Merkle batch file (or a folder of them); repeatable.")
    ] = None,
    index_db: Annotated[
        str | None,
        typer.Option("--index-db", help="Compare the operator's event index (URL or SQLite path) with the chain."),
    ] = None,
    index: Annotated[bool, typer.Option("--index", help="Compare the index at $COGOV_INDEX_DB_URL.")] = False,
    recompile: Annotated[bool, typer.Option("--recompile", help="Also compile contracts/ afresh and compare.")] = False,
    to_block: Annotated[int | None, typer.Option("--to-block", help="Audit up to this block (default: head).")] = None,
    expect_block: Annotated[
        list[str] | None,
        typer.Option(
            "--expect-block",
            metavar="N:HASH",
            help="A checkpoint published elsewhere: the chain must hold block N with this hash (repeatable).",
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="An API (base URL) whose case metrics (GET /api/v1/cases/metrics) to compare with the auditor's "
            "own; its API key, if the endpoint wants one, from $COGOV_API_KEY (never an argument).",
        ),
    ] = None,
    access_log: Annotated[
        list[Path] | None,
        typer.Option(
            "--access-log",
            help="A gateway's access transparency log folder (translog/<member id>/, or translog/ for all); "
            "repeatable. Checked against the checkpoints anchored on chain.",
        ),
    ] = None,
    access_logs_api: Annotated[
        bool,
        typer.Option(
            "--access-logs-api",
            help="Read every anchored access log from --api-url's entries route (an auditor's $COGOV_API_KEY).",
        ),
    ] = False,
    receipts: Annotated[
        list[Path] | None,
        typer.Option("--receipts", help="Access-log receipts (JSON files, or a folder of them) to verify; repeatable."),
    ] = None,
    mmd: Annotated[int, typer.Option("--mmd", help="The maximum merge delay (s) the access logs promise.")] = 60,
    save: Annotated[
        bool,
        typer.Option("--save/--no-save", help="Store the report as the latest (served by GET /api/v1/audit/report)."),
    ] = True,
    show_progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress on stderr: a bar on a terminal, a line every few seconds otherwise (default: on).",
        ),
    ] = None,
) -> None:
    """Rebuild every record from chain events, check every rule, print the verdict (exit 1 on a violation)."""
    from ledger.audit import AuditOptions, run_audit
    from ledger.audit.heads import Checkpoint
    from ledger.audit.report import write_html, write_json

    checkpoints = [Checkpoint.parse(x) for x in expect_block or []]
    e = env()
    led = e.ledger(check=False)  # a foreign chain is a finding (chain.identity), not a crash
    opts = AuditOptions(
        documents=documents,
        batches=list(batches or []),
        recompile=recompile,
        to_block=to_block,
        expect_blocks=checkpoints,
        index_db=index_db or (e.settings.index_db_url if index else None),
        api_url=api_url,
        api_key=os.environ.get("COGOV_API_KEY") if api_url else None,
        access_logs=list(access_log or []),
        access_logs_api=access_logs_api,
        receipts=list(receipts or []),
        mmd=mmd,
    )
    with _progress(show_progress) as progress:
        report = run_audit(led, e.manifest, opts, progress)
    if json_file is not None:
        write_json(report, json_file)
    if html_file is not None:
        write_html(report, html_file)
    if save:
        write_json(report, e.settings.audit_report_path)
    _summary(report, json_file, html_file)
    if not report.ok:
        raise typer.Exit(out.EXIT_CHECK_FAILED)


@contextmanager
def _progress(on: bool | None) -> Iterator[Progress | None]:
    """The audit's progress on stderr: a bar on a terminal (blocks scanned of the total, events,
    rate, time left), otherwise a plain line at each phase and every few seconds of the scan."""
    if on is False:
        yield None
        return
    if not out.err_console.is_terminal:
        yield _Lines()
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("blocks, {task.fields[events]:,} events, {task.fields[rate]:,.0f} events/s"),
        TimeRemainingColumn(),
    )
    with RichProgress(*columns, console=out.err_console, transient=True) as bar:
        task = bar.add_task("auditing", total=None, events=0, rate=0.0)
        t0 = time.monotonic()

        def show(done: int, total: int, events: int, phase: str) -> None:
            rate = events / max(time.monotonic() - t0, 1e-6)
            bar.update(task, total=total, completed=done, description=phase, events=events, rate=rate)

        yield show


class _Lines:
    """Plain progress lines: ``audit: scan <done>/<total> blocks, <events> events, <rate> events/s,
    ~<seconds>s left`` while the logs are read, ``audit: <phase> (<events> events)`` at each other phase."""

    EVERY = 5.0  # seconds between two lines of one phase

    def __init__(self) -> None:
        self.t0 = self.last = time.monotonic()
        self.phase = ""

    def __call__(self, done: int, total: int, events: int, phase: str) -> None:
        now = time.monotonic()
        if phase == self.phase and done < total and now - self.last < self.EVERY:
            return
        dt = max(now - self.t0, 1e-6)
        if phase == "scan":
            left = f", ~{(total - done) * dt / done:,.0f}s left" if 0 < done < total else ""
            line = f"scan {done:,}/{total:,} blocks, {events:,} events, {events / dt:,.0f} events/s{left}"
        else:
            line = f"{phase} ({events:,} events)"
        out.err_console.print(f"audit: {line}", markup=False, soft_wrap=True)
        self.phase, self.last = phase, now


def _summary(report: AuditReport, json_file: Path | None, html_file: Path | None) -> None:
    s = report.scan
    out.say(
        f"chain {report.chain_id}, blocks {s.from_block}..{s.to_block}: {s.events:,} events in {s.seconds:.1f}s "
        f"({s.events_per_second:,.0f} events/s scanned); compiler {report.compiler['version']}"
    )
    out.say(f"audited head: block {report.head_block} {report.head_hash} (at {report.rpc_url})")
    for n in report.nodes:
        out.say(
            f"  node {n.url}: "
            + (
                f"not compared ({n.error})"
                if n.error
                else f"head {n.head_block}, block {n.common_block} {n.common_hash}"
            )
        )
    for c in report.contracts:
        out.say(f"  {c.name:20} {c.address}  {'code matches the source' if c.code_matches else 'CODE DIFFERS'}")
    rows = [[r.id, r.checked, r.errors, r.warnings] for r in report.rules if r.checked or r.errors or r.warnings]
    out.table(["rule", "checks", "violations", "warnings"], rows)
    shown = report.findings[:20]
    for f in shown:
        where = " ".join(
            x
            for x in (
                f.contract or "",
                f"block {f.block}" if f.block is not None else "",
                f"tx {f.tx_hash}" if f.tx_hash else "",
            )
            if x
        )
        out.say(f"{f.severity.value.upper():7} {f.rule}: {f.message}" + (f" [{where}]" if where else ""))
    if len(report.findings) > len(shown):
        out.say(f"... and {len(report.findings) - len(shown)} more findings (see --json / --html)")
    for label, path in (("JSON", json_file), ("HTML", html_file)):
        if path is not None:
            out.say(f"{label} report: {path}")
    if report.ok:
        out.ok(
            f"PASSED: {report.summary['checks']:,} checks, no violation"
            + (f", {report.summary['warnings']} warning(s)" if report.summary["warnings"] else "")
        )
    else:
        out.say(f"FAILED: {report.summary['errors']} violation(s) of {len({f.rule for f in report.errors})} rule(s)")
