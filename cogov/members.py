"""``cogov members`` and ``cogov council``: the membership registry and council governance."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt, PasswordFileOpt
from ledger.membership import ChangeKind, Member, MemberKind, Proposal, Role, decode_change, roles_mask

if TYPE_CHECKING:
    from ledger.keys import Signer
    from ledger.tx import TxReceipt

members_app = typer.Typer(help="Members of the permissioned ledger (from the registry's views).", no_args_is_help=True)
council_app = typer.Typer(help="Council proposals: propose, approve, execute, cancel, list.", no_args_is_help=True)

KeyOpt = Annotated[str, typer.Option("--key", help="Keystore label of a council member's account.")]
ProposalArg = Annotated[int, typer.Argument(min=1, help="Proposal id.")]


def _member_dict(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "kind": m.kind.name.lower(),
        "roles": [r.name.lower() for r in m.roles],
        "active": m.active,
        "accounts": list(m.accounts),
        "data_key": m.data_key,
        "nodes": list(m.nodes),
    }


def _proposal_dict(p: Proposal) -> dict[str, Any]:
    try:
        args = [("0x" + a.hex()) if isinstance(a, bytes) else a for a in decode_change(p.kind, p.data)]
    except Exception:
        args = ["0x" + p.data.hex()]
    return {
        "id": p.id,
        "kind": p.kind.name.lower(),
        "args": args,
        "proposer_id": p.proposer_id,
        "approvals": p.approvals,
        "approvers": list(p.approvers),
        "expires_at": p.expires_at,
        "state": p.state.name.lower(),
    }


@members_app.command("list")
def members_list(
    role: Annotated[str | None, typer.Option("--role", help="Only active members with this role.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List members with their kind, roles and state."""
    members = env().registry().members()
    if role:
        want = _role(role)
        members = [m for m in members if m.active and want in m.roles]
    if as_json:
        out.emit_json([_member_dict(m) for m in members])
        return
    out.table(
        ["id", "name", "kind", "roles", "active", "accounts"],
        [
            [m.id, m.name, m.kind.name.lower(), ",".join(r.name.lower() for r in m.roles), m.active, len(m.accounts)]
            for m in members
        ],
    )


@members_app.command("show")
def members_show(
    member: Annotated[str, typer.Argument(help="A member id or one of its accounts.")], as_json: JsonOpt = False
) -> None:
    """One member: roles, accounts, data key, nodes."""
    reg = env().registry()
    if member.startswith("0x"):
        m = reg.member_of(member)
        if m is None:
            from ledger.errors import NotFound

            raise NotFound("member with account", member)
    else:
        m = reg.member(int(member))
    out.emit_json(_member_dict(m))


def _role(name: str) -> Role:
    try:
        return Role[name.upper()]
    except KeyError as exc:
        raise typer.BadParameter(f"unknown role {name!r}; one of {', '.join(r.name.lower() for r in Role)}") from exc


def _kind(name: str) -> MemberKind:
    try:
        return MemberKind[name.upper()]
    except KeyError as exc:
        raise typer.BadParameter(
            f"unknown kind {name!r}; one of {', '.join(k.name.lower() for k in MemberKind)}"
        ) from exc


CHANGE_HELP = (
    "The change: admit-member NAME KIND ROLES(comma) ACCOUNT | remove-member ID | grant-role ID ROLE | "
    "revoke-role ID ROLE | add-account ID ACCOUNT | remove-account ID ACCOUNT | set-data-key ID KEY32HEX | "
    "add-node ID ENODE_ID IP PORT | remove-node ID ENODE_ID IP PORT | set-threshold N | set-proposal-lifetime SECONDS"
)


def _parse_change(words: list[str]) -> tuple[ChangeKind, list[Any]]:
    if not words:
        raise typer.BadParameter(CHANGE_HELP)
    try:
        kind = ChangeKind[words[0].upper().replace("-", "_")]
    except KeyError as exc:
        raise typer.BadParameter(CHANGE_HELP) from exc
    a = words[1:]
    try:
        if kind == ChangeKind.ADMIT_MEMBER:
            roles = [_role(r) for r in a[2].split(",") if r]
            return kind, [a[0], int(_kind(a[1])), roles_mask(roles), a[3]]
        if kind in (ChangeKind.GRANT_ROLE, ChangeKind.REVOKE_ROLE):
            return kind, [int(a[0]), int(_role(a[1]))]
        if kind in (ChangeKind.ADD_ACCOUNT, ChangeKind.REMOVE_ACCOUNT):
            return kind, [int(a[0]), a[1]]
        if kind == ChangeKind.SET_DATA_KEY:
            return kind, [int(a[0]), bytes.fromhex(a[1].removeprefix("0x"))]
        if kind in (ChangeKind.ADD_NODE, ChangeKind.REMOVE_NODE):
            return kind, [int(a[0]), a[1].lower(), a[2], int(a[3])]
        if kind in (ChangeKind.REMOVE_MEMBER, ChangeKind.SET_THRESHOLD, ChangeKind.SET_PROPOSAL_LIFETIME):
            return kind, [int(a[0])]
    except (IndexError, ValueError) as exc:
        raise typer.BadParameter(f"bad arguments for {words[0]}: {CHANGE_HELP}") from exc
    raise typer.BadParameter(CHANGE_HELP)


@council_app.command("propose", context_settings={"ignore_unknown_options": True})
def council_propose(
    change: Annotated[list[str], typer.Argument(help=CHANGE_HELP)], key: KeyOpt, password_file: PasswordFileOpt = None
) -> None:
    """Propose a change (your approval counts at once)."""
    kind, args = _parse_change(change)
    pid, receipt = env().registry().propose(env().signer(key, password_file), kind, *args)
    out.ok(f"proposal {pid} ({kind.name.lower()}) created in block {receipt.block_number}, tx {receipt.tx_hash}")


@council_app.command("approve")
def council_approve(
    proposal: ProposalArg, key: KeyOpt, password_file: PasswordFileOpt = None
) -> None:
    """Approve a pending proposal (once per council member)."""
    reg = env().registry()
    receipt = reg.approve(env().signer(key, password_file), proposal)
    p = reg.proposal(proposal)
    out.ok(
        f"approved {proposal}: {p.approvals} of {reg.threshold()} approvals, "
        f"{p.state.name.lower()} (tx {receipt.tx_hash})"
    )


def _proposal_step(done: str, step: Callable[[Signer, int], TxReceipt], proposal: int, signer: Signer) -> None:
    receipt = step(signer, proposal)
    out.ok(f"{done} {proposal} in block {receipt.block_number} (tx {receipt.tx_hash})")


@council_app.command("execute")
def council_execute(proposal: ProposalArg, key: KeyOpt, password_file: PasswordFileOpt = None) -> None:
    """Execute an approved proposal."""
    _proposal_step("executed", env().registry().execute, proposal, env().signer(key, password_file))


@council_app.command("cancel")
def council_cancel(proposal: ProposalArg, key: KeyOpt, password_file: PasswordFileOpt = None) -> None:
    """Cancel your own open proposal."""
    _proposal_step("cancelled", env().registry().cancel, proposal, env().signer(key, password_file))


@council_app.command("list")
def council_list(
    state: Annotated[
        str | None, typer.Option("--state", help="pending, approved, executed, cancelled or expired.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List proposals, newest first, with their derived state."""
    registry = env().registry()
    props = list(reversed(registry.proposals()))
    if state:
        props = [p for p in props if p.state.name.lower() == state.lower()]
    rows = [_proposal_dict(p) for p in props]
    if as_json:
        out.emit_json(rows)
        return
    threshold = registry.threshold()
    out.table(
        ["id", "kind", "args", "approvals", "state", "expires"],
        [[r["id"], r["kind"], " ".join(str(x) for x in r["args"]), f"{r['approvals']} of {threshold}", r["state"],
          out.when(r["expires_at"])] for r in rows],
    )
