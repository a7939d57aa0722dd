"""Run the audit: one pass over the chain's logs, replay, every rule, one report.

Cost is linear in the number of events: logs are fetched once in block ranges,
block headers once per block that holds an event (in JSON-RPC batches), each event is
replayed once, and the state comparison is one batched view call per record (a few per grant,
never per access). The fund's balance is replayed from the token's Transfer
events at every block where it changed, and read from the chain (``balanceOf``
at that block) at every one of those blocks and at the head: one batched view
call per block with fund money events, never a sample.

Memory does not grow with the events: the chain is streamed (:class:`~ledger.audit.events.ChainStream`),
each range decoded, replayed and dropped while the next is fetched (:class:`~ledger.audit.replays.Replays`
says what is kept: the records' states, the anchored checkpoints, and every event only when an
index is compared).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ledger.audit import code as code_rule
from ledger.audit.access_log import (
    anchored_checkpoints,
    check_access_log,
    check_receipts,
    logs_in,
    read_receipts,
)
from ledger.audit.batches import check_batches
from ledger.audit.case_metrics import api_client, check_api_metrics
from ledger.audit.collect import Collector
from ledger.audit.documents import check_documents, on_chain_documents
from ledger.audit.events import ChainStream
from ledger.audit.findings import RULES, AuditReport, RuleResult, ScanStats, Severity
from ledger.audit.heads import Checkpoint, block_hash, check_checkpoints, compare_nodes
from ledger.audit.index_compare import compare_index
from ledger.audit.reads import Call, Reads
from ledger.audit.replay.cases import CaseReplay
from ledger.audit.replay.data import DataReplay
from ledger.audit.replay.fund import FundReplay
from ledger.audit.replay.membership import MembershipReplay
from ledger.audit.replays import Replays
from ledger.client import Ledger
from ledger.config import REPO_ROOT
from ledger.errors import LedgerError, ValidationFailed, redact
from ledger.events import Event
from ledger.logs import header
from ledger.manifest import Manifest

#: (blocks scanned, total blocks, events so far, phase)
Progress = Callable[[int, int, int, str], None]


@dataclass
class AuditOptions:
    documents: Path | None = None
    batches: list[Path] = field(default_factory=list)
    index_db: str | None = None
    recompile: bool = False
    source_root: Path = REPO_ROOT
    step: int = 2000
    to_block: int | None = None
    #: blocks the chain must hold (``--expect-block N:HASH``)
    expect_blocks: list[Checkpoint] = field(default_factory=list)
    #: an API whose case metrics to compare with the auditor's (``--api-url``), and its key if it wants one
    api_url: str | None = None
    api_key: str | None = None
    #: access transparency logs: folders (``--access-log``), or every anchored log from ``api_url``'s
    #: entries route (``--access-logs-api``); receipts to check against them; the MMD the receipts promise
    access_logs: list[Path] = field(default_factory=list)
    access_logs_api: bool = False
    receipts: list[Path] = field(default_factory=list)
    mmd: int = 60


def run_audit(
    ledger: Ledger, manifest: Manifest, options: AuditOptions | None = None, progress: Progress | None = None
) -> AuditReport:
    opts = options or AuditOptions()
    started = time.monotonic()
    out = Collector()
    reads = Reads(ledger, {n: d.address for n, d in manifest.contracts.items()})
    say = progress or (lambda *_: None)
    phases: dict[str, float] = {}
    mark = [time.monotonic()]

    def phase(name: str) -> None:
        now = time.monotonic()
        phases[name] = round(phases.get(name, 0.0) + now - mark[0], 4)
        mark[0] = now

    chain_id = int(reads.rpc("eth_chainId", []), 16)
    genesis = header(reads, 0)
    node_head = int(reads.rpc("eth_blockNumber", []), 16)
    head = opts.to_block if opts.to_block is not None else node_head
    if head > node_head:
        raise ValidationFailed("to_block", f"{head} is beyond the chain's head {node_head}")
    head_hash = block_hash(reads, head) or ""
    out.expect(
        "chain.identity",
        chain_id == manifest.chain_id and genesis is not None and genesis.hash == manifest.genesis_hash.lower(),
        "this is not the manifest's chain",
        chain_id=chain_id,
        manifest_chain_id=manifest.chain_id,
        genesis_hash=genesis and genesis.hash,
        manifest_genesis_hash=manifest.genesis_hash,
    )

    check_checkpoints(reads, opts.expect_blocks, node_head, out)
    nodes = compare_nodes(reads, ledger.provider.urls, head, head_hash, out, ledger.confirmations)
    phase("connect")

    # 1. code
    say(0, 1, 0, "code")
    contracts = code_rule.check_code(reads, manifest, out, head, root=opts.source_root, recompile=opts.recompile)
    phase("code")
    if (opts.source_root / "contracts").is_dir():
        code_rule.check_sources(out, opts.source_root)
    phase("sources")

    # the auditor's own view of the chain, streamed: each window decoded, replayed with the rules, dropped
    chain = ChainStream(reads, {n: d.address for n, d in manifest.contracts.items()}, manifest.start_block, head,
                        step=opts.step)  # fmt: skip
    total = chain.blocks
    replays = Replays(out, manifest, keep_events=opts.index_db is not None, keep_case_events=opts.api_url is not None)
    reg, data, fund, cases = replays.reg, replays.data, replays.fund, replays.cases
    scan_t0 = time.monotonic()
    replay_seconds = 0.0
    for window in chain.windows():
        r0 = time.monotonic()
        replays.feed(window)
        replay_seconds += time.monotonic() - r0
        say(chain.blocks_done, total, chain.events, "scan")
    replays.finish(chain.head_time)
    scan_seconds = time.monotonic() - scan_t0
    phases["scan"] = round(scan_seconds - replay_seconds, 4)  # fetch and decode (the replay overlaps the fetch)
    phases["replay"] = round(replay_seconds, 4)
    mark[0] = time.monotonic()
    token_name = replays.token_name
    counts = replays.counts

    # 2. state: views at the head against the replay (one batched round)
    say(total, total, chain.events, "state")
    head_time = chain.head_time
    for replay in (reg, data, fund, cases):
        if replay is None:
            continue
        checks = replay.checks(head_time)
        checks.compare(reads.calls(checks.calls(), head), out, head)
    phase("state")

    # 3. fund balance: real balanceOf at every block where the fund's money moved
    if fund is not None and token_name is not None:
        _check_balances(reads, fund, token_name, manifest, out, head)
    elif fund is not None:
        fund.out.check("fund.balance-invariant")
    phase("balances")

    # 4. batches, 5. documents, 6. index
    if opts.batches and data is not None:
        check_batches(opts.batches, data, out)
    if (opts.access_logs or opts.access_logs_api or opts.receipts) and data is not None:
        _access_logs(ledger, opts, replays.anchors, head_time, data, out)
    doc_stats: dict[str, int] = {}
    if opts.documents is not None:
        doc_stats = check_documents(opts.documents, on_chain_documents(data, fund), out)
    index_stats: dict[str, int | None] = {}
    if opts.index_db is not None:
        index_stats = _index(ledger, manifest, opts.index_db, replays.events or [], head, out)
    phase("files_and_index")

    # 7. the case metrics an API serves
    api_metrics: dict[str, Any] = {}
    if opts.api_url is not None and cases is not None:
        with api_client(opts.api_url, opts.api_key) as client:
            api_metrics = check_api_metrics(client, cases.events, head, reads, out)
    phase("api_metrics")

    elapsed = time.monotonic() - started
    blocks = chain.blocks
    rules = [
        RuleResult(
            id=r.id,
            group=r.group,
            title=r.title,
            checked=out.checked[r.id],
            errors=sum(1 for f in out.findings if f.rule == r.id and f.severity == Severity.ERROR),
            warnings=sum(1 for f in out.findings if f.rule == r.id and f.severity == Severity.WARNING),
        )
        for r in RULES.values()
    ]
    errors = sum(1 for f in out.findings if f.severity == Severity.ERROR)
    first = next(iter(manifest.contracts), None)
    return AuditReport(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ok=errors == 0,
        rpc_url=redact(ledger.url),
        chain_id=chain_id,
        genesis_hash=genesis.hash if genesis else "",
        head_block=head,
        head_hash=head_hash,
        compiler={
            "version": manifest.compiler.version,
            "settings": manifest.compiler.settings,
            "artifact_version": _artifact_compiler(first),
        },
        contracts=contracts,
        scan=ScanStats(
            from_block=chain.from_block,
            to_block=chain.to_block,
            blocks=blocks,
            events=chain.events,
            seconds=round(elapsed, 3),
            events_per_second=round(chain.events / max(scan_seconds, 1e-9), 1),
            blocks_per_second=round(blocks / max(scan_seconds, 1e-9), 1),
            phases=phases,
        ),
        rules=rules,
        findings=out.findings,
        nodes=nodes,
        summary={
            "errors": errors,
            "warnings": sum(1 for f in out.findings if f.severity == Severity.WARNING),
            "info": sum(1 for f in out.findings if f.severity == Severity.INFO),
            "checks": sum(out.checked.values()),
            "events_by_type": dict(sorted(counts.items())),
            "rpc_requests": reads.requests,
            "documents": doc_stats,
            "index": index_stats,
            "fund": _fund_summary(fund),
            "data": _data_summary(data, reg),
            "cases": _cases_summary(cases, head_time, api_metrics),
        },
        charts=_charts(fund, data, reg),
        options={
            "documents": str(opts.documents) if opts.documents else None,
            "batches": [str(p) for p in opts.batches],
            "index_db": redact(opts.index_db) if opts.index_db else None,
            "recompile": opts.recompile,
            "expect_blocks": [str(c) for c in opts.expect_blocks],
            "api_url": redact(opts.api_url) if opts.api_url else None,
        },
    )


def _artifact_compiler(name: str | None) -> str | None:
    from ledger import artifacts

    return str(artifacts.load(name)["compiler"]["version"]) if name else None


def _check_balances(
    reads: Reads, fund: FundReplay, token_name: str, manifest: Manifest, out: Collector, head: int
) -> None:
    """``balanceOf(fund)`` at every block where the fund's money moved, and at the head, against
    the balance replayed from the token's Transfer events. Every such block is read (one
    batched view call each, as many as the fund's money events at most): no sample, so the
    verdict never depends on which blocks a sample picked."""
    expect = {block: replayed for block, (replayed, _) in fund.balance_at.items()}
    expect[head] = fund.token_balance  # no Transfer touched the fund after its last changed block
    blocks = sorted(expect)
    fund_address = manifest.contracts["CoGovFund"].address
    answers = reads.calls([Call(token_name, "balanceOf", (fund_address,)) for _ in blocks], blocks)
    for block, got in zip(blocks, answers, strict=True):
        replayed = expect[block]
        out.expect(
            "fund.balance-invariant",
            not isinstance(got, LedgerError) and int(got) == replayed,
            f"at block {block} balanceOf(fund) is {got}, the token's Transfer events give {replayed}",
            contract=token_name,
            block=block,
            balance_of=str(got),
            replayed=replayed,
            expected=fund.balance_at.get(block, (replayed, None))[1],
        )


def _index(
    ledger: Ledger, manifest: Manifest, db: str, events: list[Event], head: int, out: Collector
) -> dict[str, int | None]:
    from ledger.index import Indexer

    idx = Indexer(ledger, {n: d.address for n, d in manifest.contracts.items()}, db, start_block=manifest.start_block)
    try:
        rows = list(idx.iter_rows(to_block=head))
        last = idx.last_block()
        kept = list(idx.kept_blocks())
    finally:
        idx.close()
    return compare_index(rows, events, last, kept, head, out, manifest.start_block)


def _fund_summary(fund: FundReplay | None) -> dict[str, Any]:
    if fund is None:
        return {}
    return {
        "contributed": fund.model.total_contributed,
        "paid_out": fund.model.total_paid,
        "refunded": fund.model.total_refunded,
        "balance": fund.token_balance,
        "unattributed": fund.unattributed,
        "unattributed_transfers": len(fund.unattributed_transfers),
        "projects": len(fund.model.projects),
        "contributions": len(fund.model.contributions),
        "payouts": len(fund.payouts),
        "quorum": fund.model.quorum,
        "time_lock": fund.model.time_lock,
    }


def _data_summary(data: DataReplay | None, reg: MembershipReplay) -> dict[str, Any]:
    if data is None:
        return {"members": len(reg.members)}
    return {
        "members": len(reg.members),
        "datasets": len(data.datasets),
        "requests": len(data.requests),
        "grants": len(data.grants),
        "accesses": sum(g.accesses for g in data.grants.values()),
        "batches": len(data.batches),
    }


def _cases_summary(cases: CaseReplay | None, head_time: int, api_metrics: dict[str, Any]) -> dict[str, Any]:
    if cases is None:
        return {}
    states = Counter(c.state.name.lower() for c in cases.model.cases.values())
    return {
        "cases": len(cases.model.cases),
        "by_state": dict(sorted(states.items())),
        "overdue": sum(1 for c in cases.model.cases.values() if c.overdue(head_time)),
        "api_metrics": api_metrics,
    }


def _charts(fund: FundReplay | None, data: DataReplay | None, reg: MembershipReplay) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    if fund is not None:
        cum_in = cum_out = 0
        series = []
        for block, t, i, o in fund.flow:
            cum_in += i
            cum_out += o
            series.append({"block": block, "time": t, "in": cum_in, "out": cum_out})
        charts["fund_flow"] = series
    if data is not None:
        ids = sorted(set(data.grants_by_member) | set(data.accesses_by_member))
        charts["by_department"] = [
            {
                "member": mid,
                "name": reg.name(mid),
                "grants": data.grants_by_member[mid],
                "accesses": data.accesses_by_member[mid],
            }
            for mid in ids
        ]
    return charts


def _access_logs(
    ledger: Ledger, opts: AuditOptions, anchors: list[Event], head_time: int, data: DataReplay, out: Collector
) -> None:
    """Rule 4b (``access_log.py``): the supplied access logs and receipts against the anchored checkpoints."""
    anchored = anchored_checkpoints(anchors)
    sources = logs_in(opts.access_logs)
    if opts.access_logs_api:
        if opts.api_url is None:
            raise ValidationFailed("access-logs-api", "give --api-url (the API serving the access logs)")
        for log_id in anchored:
            sources.setdefault(log_id, partial(_fetch_log, opts.api_url, opts.api_key, log_id))
    trees = {}
    for log_id, read in sorted(sources.items()):
        entries = read()
        if entries is None:  # the API holds no such log: said, not judged
            out.add(
                "data.log-checkpoint-mismatch",
                f"log {log_id} has checkpoints on chain but the API serves no entries of it: not checked",
                severity=Severity.WARNING,
                log=log_id,
            )
            continue
        trees[log_id] = check_access_log(
            log_id, entries, anchored.get(log_id, []), data, out, head_time=head_time, mmd=opts.mmd
        )
    if opts.receipts:
        check_receipts(read_receipts(opts.receipts), trees, anchored, ledger, out, head_time)


def _fetch_log(url: str, key: str | None, log_id: int) -> list[bytes] | None:
    """Every entry of log ``log_id`` from the API's entries route (an auditor's key); None if it has no such log."""
    entries: list[bytes] = []
    with api_client(url, key) as client:
        while True:
            r = client.get("/api/v1/access-log/entries", params={"log": log_id, "start": len(entries)})
            if r.status_code == 404 and not entries:
                return None
            if r.status_code != 200:
                raise ValidationFailed("api-url", f"the entries of access log {log_id}: HTTP {r.status_code} {r.text}")
            page = r.json()
            entries += [e["entry"].encode("utf-8") for e in page["data"]]
            if not page["data"] or len(entries) >= int(page["size"]):
                return entries
