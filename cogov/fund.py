"""``cogov fund`` and ``cogov credit``: the community co-governance fund (社区共治基金) and its token.

Amounts on the command line are decimal text in the token's unit (CommunityCredit: 元, two
decimals; ``12.5`` is 1250 分); JSON output gives integer units. Titles, milestone
descriptions, memos, invoices and deposit / redemption references are stored in the
service database (``COGOV_SERVICE_DB_URL``, through :mod:`ledger.fund.docs`, as the API
does) once the chain accepted the write; only their hash goes on chain (a salted
commitment for all but the public titles and milestone descriptions).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from cogov import output as out
from cogov.context import account_of, env, member_id_of, open_docs, text_or_file
from cogov.options import KeyOpt, PasswordFileOpt

if TYPE_CHECKING:
    from ledger.events import Event
    from ledger.fund import Fund

fund_app = typer.Typer(
    help="The community co-governance fund: contributions, projects, committee votes, payouts, refunds, tracing.",
    no_args_is_help=True,
)
credit_app = typer.Typer(help="CommunityCredit, the fund's development token (treasurer: mint, burn).",
                         no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (amounts in integer units).")]
STATES = "proposed, time_locked, active, completed, rejected or cancelled"


def _amount(text: str, decimals: int) -> int:
    from ledger.fund import parse_amount

    return parse_amount(text, decimals)


def _money(units: int, fund: Fund) -> str:
    return out.money(units, fund.token.decimals)


# ---------------------------------------------------------------- writes


@fund_app.command("contribute")
def contribute(
    amount: Annotated[str, typer.Argument(help="Amount in 元 (decimal, e.g. 500 or 12.50).")],
    key: KeyOpt,
    project: Annotated[
        int, typer.Option("--project", min=0, help="Earmark to this project (default 0: the general pool).")
    ] = 0,
    memo: Annotated[str | None, typer.Option("--memo", help="A note; stored off chain, its hash on chain.")] = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Contribute to a project or to the general pool (approves the fund for the amount first if needed)."""
    fund, docs = env().fund(), open_docs()
    units = _amount(amount, fund.token.decimals)
    draft = docs.draft("memo", memo) if memo else None
    memo_hash = draft.hash if draft else b"\x00" * 32
    signer = env().signer(key, password_file)
    texts = docs.journal([draft])
    r = texts.wait(fund.send_contribution(signer, fund.contribute_call(units, project, memo_hash), texts))
    rid = int(r.event("ContributionReceived").args["receiptId"])
    docs.accept(r)
    where = f"project {project}" if project else "the general pool"
    out.ok(f"receipt {rid}: {_money(units, fund)} to {where}; {out.tx_line(r)}")


@fund_app.command("propose")
def propose(
    title: Annotated[str, typer.Option("--title", help="The project's title (stored off chain).")],
    beneficiary: Annotated[str, typer.Option("--beneficiary", help="Address or key label paid by the milestones.")],
    milestone: Annotated[
        list[str], typer.Option("--milestone", help='"AMOUNT:description", once per milestone, in order.')
    ],
    key: KeyOpt,
    password_file: PasswordFileOpt = None,
    pool: Annotated[
        str, typer.Option("--pool", help="元 asked of the general pool (at most the budget), decided with the project.")
    ] = "0",
) -> None:
    """Propose a project (department or fund committee); its approval motion opens at once and
    decides the general-pool allocation it asks (--pool) with the project."""
    from ledger.errors import ValidationFailed

    fund, docs = env().fund(), open_docs()
    drafts = [docs.draft("title", title)]
    specs = []
    for m in milestone:
        amount, sep, desc = m.partition(":")
        if not sep or not desc.strip():
            raise ValidationFailed("milestone", f'{m!r} is not "AMOUNT:description"')
        drafts.append(docs.draft("milestone", desc.strip()))
        specs.append((_amount(amount, fund.token.decimals), drafts[-1].hash))
    signer, to = env().signer(key, password_file), account_of(beneficiary)
    asked = _amount(pool, fund.token.decimals) if pool.strip() not in ("", "0") else 0
    call = fund.propose_project_call(drafts[0].hash, to, specs, pool_allocation=asked)
    r = docs.transact(fund.ledger, signer, call, drafts)
    pid = int(r.event("ProjectProposed").args["projectId"])
    docs.accept(r)
    p = fund.project(pid)
    pool_text = f", {_money(asked, fund)} asked of the general pool" if asked else ""
    out.ok(f"project {pid} proposed: budget {_money(p.budget, fund)} in {len(specs)} milestones{pool_text}; "
           f"approval motion {p.approval_motion_id}; {out.tx_line(r)}")


@fund_app.command("vote")
def vote(
    motion: Annotated[int, typer.Argument(help="Motion id.")],
    key: KeyOpt,
    support: Annotated[bool, typer.Option("--yes/--no", help="Approve or reject.")] = True,
    password_file: PasswordFileOpt = None,
) -> None:
    """Vote on an open motion (fund committee; once per member)."""
    fund = env().fund()
    r = fund.vote(env().signer(key, password_file), motion, support)
    m = fund.motion(motion)
    out.ok(f"voted {'yes' if support else 'no'} on motion {motion} ({m.kind.name.lower()}, project {m.project_id}): "
           f"{m.approvals} yes, {m.rejections} no, {m.state.name.lower()}; {out.tx_line(r)}")


@fund_app.command("allocate")
def allocate(
    project: Annotated[int, typer.Argument(help="Project id (approved).")],
    amount: Annotated[str, typer.Argument(help="Amount in 元 from the general pool.")],
    key: KeyOpt,
    password_file: PasswordFileOpt = None,
) -> None:
    """Propose allocating more general-pool money to an approved project (fund committee): a top-up
    of what its proposal asked (`fund propose --pool`), decided by its own motion."""
    fund = env().fund()
    units = _amount(amount, fund.token.decimals)
    mid, r = fund.propose_allocation(env().signer(key, password_file), project, units)
    out.ok(f"motion {mid}: allocate {_money(units, fund)} to project {project}; {out.tx_line(r)}")


@fund_app.command("cancel")
def cancel(
    project: Annotated[int, typer.Argument(help="Project id.")], key: KeyOpt, password_file: PasswordFileOpt = None
) -> None:
    """Propose cancelling an open project (fund committee)."""
    mid, r = env().fund().propose_cancellation(env().signer(key, password_file), project)
    out.ok(f"motion {mid}: cancel project {project}; {out.tx_line(r)}")


@fund_app.command("payout")
def payout(
    project: Annotated[int, typer.Argument(help="Project id.")],
    milestone: Annotated[int, typer.Argument(help="Milestone index (0-based).")],
    amount: Annotated[str, typer.Argument(help="Amount in 元.")],
    key: KeyOpt,
    invoice: Annotated[str | None, typer.Option("--invoice", help="Invoice/receipt text (stored off chain).")] = None,
    invoice_file: Annotated[
        Path | None, typer.Option("--invoice-file", help="Or the invoice file (its bytes are hashed).")
    ] = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Pay (part of) a milestone to the project's beneficiary (treasurer)."""
    docs, draft, h = text_or_file("invoice", "invoice", invoice, invoice_file)
    fund = env().fund()
    units = _amount(amount, fund.token.decimals)
    signer = env().signer(key, password_file)
    r = docs.transact(fund.ledger, signer, fund.pay_milestone_call(project, milestone, units, h), [draft])
    pid = int(r.event("PayoutMade").args["payoutId"])
    docs.accept(r)
    ev = r.event("PayoutMade").args
    out.ok(f"payout {pid}: {_money(units, fund)} for milestone {milestone} of project {project} "
           f"({_money(int(ev['fromEarmarked']), fund)} earmarked, {_money(int(ev['fromGeneral']), fund)} general); "
           f"project is {fund.project_state(project).name.lower()}; {out.tx_line(r)}")
    out.say(f"invoice hash: 0x{h.hex()}")


@fund_app.command("refund")
def refund(
    receipt: Annotated[int, typer.Argument(help="Receipt id of the earmarked contribution.")],
    key: KeyOpt,
    password_file: PasswordFileOpt = None,
) -> None:
    """Claim the refund of an earmarked contribution of a closed project (the contributing member)."""
    fund = env().fund()
    amount, r = fund.claim_refund(env().signer(key, password_file), receipt)
    out.ok(f"refunded {_money(amount, fund)} of receipt {receipt}; {out.tx_line(r)}")


# ---------------------------------------------------------------- reads


@fund_app.command("summary")
def summary(as_json: JsonOpt = False) -> None:
    """Totals, the general pool, the balance invariant, projects by state."""
    fund = env().fund()
    t, pool, time_lock = fund.totals(), fund.pool(), fund.time_lock()
    states: dict[str, int] = {}
    for p in fund.projects():
        states[p.state.name.lower()] = states.get(p.state.name.lower(), 0) + 1
    data = {
        "address": fund.address, "currency": fund.token.symbol, "decimals": fund.token.decimals,
        "quorum": fund.quorum(), "time_lock": time_lock,
        "total_contributed": t.contributed, "total_paid_out": t.paid_out, "total_refunded": t.refunded,
        "balance": t.balance, "expected_balance": t.contributed - t.paid_out - t.refunded,
        "invariant_holds": t.invariant_holds,
        "pool": {"total": pool.total, "spent": pool.spent, "committed": pool.committed, "free": pool.free},
        "contributions": t.contributions, "projects": t.projects, "motions": t.motions, "payouts": t.payouts,
        "projects_by_state": states,
    }
    if as_json:
        out.emit_json(data)
        return
    out.say(f"fund {fund.address} (quorum {data['quorum']}, time lock {out.duration(time_lock)})")
    out.say(f"  contributed {_money(t.contributed, fund)} in {t.contributions} contributions")
    out.say(f"  paid out    {_money(t.paid_out, fund)} in {t.payouts} payouts")
    out.say(f"  refunded    {_money(t.refunded, fund)}")
    out.say(f"  balance     {_money(t.balance, fund)} "
            f"({'matches' if t.invariant_holds else 'DOES NOT match'} contributions - payouts - refunds)")
    out.say(f"  general pool: free {_money(pool.free, fund)}, committed {_money(pool.committed, fund)}, "
            f"spent {_money(pool.spent, fund)}")
    out.say("  projects: " + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none"))


@fund_app.command("projects")
def projects(
    state: Annotated[str | None, typer.Option("--state", help=STATES)] = None, as_json: JsonOpt = False
) -> None:
    """List projects, newest first, with titles from the document store."""
    fund, docs = env().fund(), open_docs()
    rows = [p for p in reversed(fund.projects()) if state is None or p.state.name.lower() == state]
    titles = docs.texts([p.title_hash for p in rows])
    if as_json:
        out.emit_json([{"id": p.id, "title": titles.get("0x" + p.title_hash.hex()),
                        "title_hash": "0x" + p.title_hash.hex(),
                        "state": p.state.name.lower(), "budget": p.budget, "paid": p.paid,
                        "earmarked": p.earmarked, "allocated": p.allocated, "available": p.available,
                        "refunded": p.refunded, "beneficiary": p.beneficiary, "proposer_id": p.proposer_id,
                        "approval_motion_id": p.approval_motion_id, "unlocks_at": p.unlocks_at} for p in rows])
        return
    out.table(["id", "title", "state", "budget", "paid", "earmarked", "allocated", "approval motion"],
              [[p.id, titles.get("0x" + p.title_hash.hex()) or "0x" + p.title_hash.hex()[:12] + "…",
                p.state.name.lower(),
                _money(p.budget, fund), _money(p.paid, fund), _money(p.earmarked, fund), _money(p.allocated, fund),
                p.approval_motion_id] for p in rows])


@fund_app.command("motions")
def motions(
    project: Annotated[int | None, typer.Option("--project")] = None, as_json: JsonOpt = False
) -> None:
    """List committee motions, newest first."""
    fund = env().fund()
    rows = [fund.motion(i) for i in range(fund.motion_count(), 0, -1)]
    rows = [m for m in rows if project is None or m.project_id == project]
    if as_json:
        out.emit_json([{**m.__dict__, "kind": m.kind.name.lower(), "state": m.state.name.lower()} for m in rows])
        return
    out.table(["motion", "kind", "project", "amount", "yes", "no", "state"],
              [[m.id, m.kind.name.lower(), m.project_id, _money(m.amount, fund) if m.amount else "",
                m.approvals, m.rejections, m.state.name.lower()] for m in rows])


def _texts_of(events: list[Event]) -> dict[str, str]:
    """The stored texts of the titles, memos and invoices the fund's ``events`` carry (the operator's view)."""
    from ledger.abi import hex_text
    from ledger.fund.docs import ON_CHAIN

    args = {spec.event: spec.hash_arg for spec in ON_CHAIN.values() if spec.contract == "CoGovFund"}
    return open_docs().texts(hex_text(e.args[args[e.name]]) for e in events if e.name in args)


@fund_app.command("trace")
def trace(
    contributor: Annotated[str, typer.Argument(help="The contributing member: member id, address or key label.")],
    as_json: JsonOpt = False,
) -> None:
    """For each contribution of a member: the projects and payouts it funded, refunds, and what is unspent."""
    from ledger.fund.model import FundModel
    from ledger.fund.report import contributor_trace, events_from_chain, labels_for
    from ledger.logs import head_time

    fund = env().fund()
    led = fund.ledger
    member_id = member_id_of(contributor)
    events = events_from_chain(led)
    t = contributor_trace(FundModel.of(events), head_time(led), member_id, labels_for(led, _texts_of(events)),
                          fund.token.symbol, fund.token.decimals)
    if as_json:
        out.emit_json(t.to_dict())
        return
    out.say(f"{t.member_name} (member {t.member_id}): contributed {_money(t.total_contributed, fund)}, "
            f"spent {_money(t.total_spent, fund)}, refunded {_money(t.total_refunded, fund)}, "
            f"unspent {_money(t.total_unspent, fund)}"
            + (f" (refundable now {_money(t.total_refundable, fund)})" if t.total_refundable else ""))
    for c in t.contributions:
        out.say(f"receipt {c.receipt_id}: {_money(c.amount, fund)} to {c.earmark} "
                f"(block {c.block_number}, {c.tx_hash})")
        for f in c.fundings:
            out.say(f"  → payout {f.payout_id}: {_money(f.amount, fund)} to project {f.project_id} {f.project}, "
                    f"milestone {f.milestone_index} ({f.source}; block {f.block_number}, {f.tx_hash})")
        if c.refunded:
            out.say(f"  ← refunded {_money(c.refunded, fund)}")
        if c.unspent:
            out.say(f"  unspent {_money(c.unspent, fund)}"
                    + (f", refundable now (cogov fund refund {c.receipt_id})" if c.refundable else ""))


@fund_app.command("export")
def export(
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Directory for fund-export.csv and fund-export.json.")
    ] = Path("."),
    type_: Annotated[str | None, typer.Option("--type", help="Only contribution, payout or refund rows.")] = None,
    since: Annotated[int | None, typer.Option("--since", help="Only rows at or after this Unix time.")] = None,
    until: Annotated[int | None, typer.Option("--until", help="Only rows at or before this Unix time.")] = None,
) -> None:
    """Write every contribution, payout and refund as CSV and JSON (tx hash and block on every row)."""
    from ledger.errors import ConfigError, ValidationFailed
    from ledger.fund.model import FundModel
    from ledger.fund.report import events_from_chain, export_csv, export_json, export_rows, labels_for

    if type_ is not None and type_ not in ("contribution", "payout", "refund"):
        raise ValidationFailed("type", "contribution, payout or refund")
    fund = env().fund()
    led = fund.ledger
    events = events_from_chain(led)
    rows = export_rows(FundModel.of(events), labels_for(led, _texts_of(events)), fund.token.symbol, fund.token.decimals,
                       kinds=[type_] if type_ else ["contribution", "payout", "refund"], since=since, until=until)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = out_dir / "fund-export.csv", out_dir / "fund-export.json"
        csv_path.write_text("\ufeff" + export_csv(rows), encoding="utf-8", newline="")
        json_path.write_text(export_json(rows), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the export to {out_dir}: {exc.strerror}") from exc
    out.ok(f"wrote {len(rows)} rows to {csv_path} and {json_path}")


@fund_app.command("documents")
def documents(
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for the auditor (cogov audit verify --documents).")
    ],
) -> None:
    """Write the stored texts (openings of the salted ones) in the layout the auditor's document check reads."""
    from ledger.errors import ConfigError

    try:
        n = open_docs().export(out_dir)
    except OSError as exc:
        raise ConfigError(f"cannot write the documents to {out_dir}: {exc.strerror}") from exc
    out.ok(f"wrote {n} documents to {out_dir}")


# ---------------------------------------------------------------- credit


def _credit_move(
    kind: Literal["deposit", "redemption"], holder: str, amount: str, reference: str, key: str,
    password_file: Path | None,
) -> None:
    """Mint to or burn from ``holder`` against a fiat ``reference`` (``kind``: deposit or redemption)."""
    from ledger.fund import Credit

    credit, docs = Credit(env().ledger()), open_docs()
    units = _amount(amount, credit.decimals)
    ref = docs.draft(kind, reference)
    account, signer = account_of(holder), env().signer(key, password_file)
    call = credit.mint_call if kind == "deposit" else credit.burn_call
    r = docs.transact(credit.ledger, signer, call(account, units, ref.hash), [ref])
    docs.accept(r)
    done, prep = ("minted", "to") if kind == "deposit" else ("burned", "of")
    moved = out.money(units, credit.decimals)
    out.ok(f"{done} {moved} {prep} {account} against {kind} {ref.hash_hex}; {out.tx_line(r)}")


@credit_app.command("mint")
def credit_mint(
    to: Annotated[str, typer.Argument(help="Address or keystore label receiving the credits.")],
    amount: Annotated[str, typer.Argument(help="Amount in 元.")],
    deposit_ref: Annotated[str, typer.Option("--deposit-ref", help="The fiat deposit's bank reference (used once).")],
    key: KeyOpt,
    password_file: PasswordFileOpt = None,
) -> None:
    """Mint CommunityCredit against a fiat deposit (treasurer)."""
    _credit_move("deposit", to, amount, deposit_ref, key, password_file)


@credit_app.command("burn")
def credit_burn(
    holder: Annotated[str, typer.Argument(help="Address or keystore label whose credits are redeemed.")],
    amount: Annotated[str, typer.Argument(help="Amount in 元.")],
    redemption_ref: Annotated[str, typer.Option("--redemption-ref", help="The fiat payout's reference (used once).")],
    key: KeyOpt,
    password_file: PasswordFileOpt = None,
) -> None:
    """Burn CommunityCredit on redemption for fiat (treasurer; the holder approves the treasurer first)."""
    _credit_move("redemption", holder, amount, redemption_ref, key, password_file)


@credit_app.command("balance")
def credit_balance(
    account: Annotated[str, typer.Argument(help="Address or keystore label.")], as_json: JsonOpt = False
) -> None:
    """An account's CommunityCredit balance."""
    from ledger.fund import Credit

    credit = Credit(env().ledger())
    addr = account_of(account)
    bal = credit.balance_of(addr)
    if as_json:
        out.emit_json({"account": addr, "balance": bal, "currency": credit.symbol, "decimals": credit.decimals})
        return
    out.say(f"{addr}: {out.money(bal, credit.decimals)}")

