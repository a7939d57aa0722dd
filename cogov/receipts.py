"""``cogov data verify-receipt``: check a gateway's signed receipt of an access-log entry against the
chain (exit 0 when every check passes, 1 when one fails, 7 when nothing failed but the entry is not
yet due under a checkpoint: its ``time + mmd`` is still ahead); ``cogov data witness``: cosign a
log's checkpoints once each is shown to extend the previous one (exit 1 at the first that does not).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt, KeyOpt, PasswordFileOpt, read_file

if TYPE_CHECKING:
    from ledger.translog.receipt import ProofFetcher

#: Merged into ``cogov data`` (cogov/app.py).
receipt_app = typer.Typer()

EXIT_NOT_YET_DUE = 7
_MARK = {"pass": "✓", "fail": "✗", "pending": "…"}


def _api_get(api_url: str, path: str, params: dict[str, int]) -> Any:
    """GET ``path`` of the log's API (API key from $COGOV_API_KEY); its JSON answer."""
    import httpx

    from ledger.errors import ConfigError, LedgerError

    token = os.environ.get("COGOV_API_KEY")
    if not token:
        raise ConfigError("set COGOV_API_KEY to your API key (never pass it as an argument)")
    try:
        resp = httpx.get(f"{api_url.rstrip('/')}{path}", params=params,
                         headers={"Authorization": f"Bearer {token}"}, timeout=60)
    except httpx.HTTPError as exc:
        raise LedgerError(f"the API at {api_url} is unreachable: {exc}") from exc
    if resp.status_code != 200:
        raise LedgerError(f"the API answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def _fetcher(api_url: str) -> ProofFetcher:
    """Fetches inclusion proofs from the gateway's API."""
    from ledger.translog.receipt import InclusionProof

    def fetch(log: int, leaf: int, size: int) -> InclusionProof:
        return InclusionProof.from_json(_api_get(api_url, "/api/v1/access-log/proof",
                                                 {"log": log, "leaf": leaf, "size": size}))

    return fetch


@receipt_app.command("verify-receipt")
def verify_receipt(
    receipt_file: Annotated[Path, typer.Argument(metavar="RECEIPT", help="The receipt (JSON) the gateway returned.")],
    proof_file: Annotated[
        Path | None, typer.Option("--proof", help="An inclusion proof (JSON, as /api/v1/access-log/proof answers).")
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", envvar="COGOV_API_URL",
                     help="Fetch the inclusion proof from this API (key from $COGOV_API_KEY); trusted for nothing."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a receipt: signer, entry hash, anchoring on time, and inclusion under the anchored root."""
    from ledger.errors import ConfigError
    from ledger.translog.receipt import InclusionProof, Receipt
    from ledger.translog.receipt import verify_receipt as verify

    try:
        receipt = Receipt.from_json(json.loads(read_file(receipt_file)))
        proof = None if proof_file is None else InclusionProof.from_json(json.loads(read_file(proof_file)))
    except ValueError as exc:  # not JSON (a malformed field is ValidationFailed, named)
        raise ConfigError(f"not a JSON document: {exc}") from exc
    fetch = _fetcher(api_url) if proof is None and api_url else None
    result = verify(receipt, env().ledger(), proof=proof, fetch=fetch, when=out.when)
    if as_json:
        out.emit_json({"ok": result.ok, "checks": [c.__dict__ for c in result.checks]})
    else:
        out.say(f"receipt of entry {receipt.index} of access log {receipt.log}, made {out.when(receipt.time)}, "
                f"due under a checkpoint by {out.when(receipt.time + receipt.mmd)}")
        for c in result.checks:
            out.say(f"  {_MARK[c.status]} {c.name}: {c.detail}")
    if result.failed:
        raise typer.Exit(out.EXIT_CHECK_FAILED)
    if not result.ok:
        raise typer.Exit(EXIT_NOT_YET_DUE)
    if not as_json:
        out.ok("the receipt holds")


@receipt_app.command("witness")
def witness(
    log: Annotated[int, typer.Option("--log", help="The log: its member's id.")],
    key: KeyOpt,
    api_url: Annotated[
        str, typer.Option("--api-url", envvar="COGOV_API_URL", help="The log's API (key from $COGOV_API_KEY).")
    ],
    after: Annotated[
        int, typer.Option("--after", help="Start after this anchored size (one you checked before).")
    ] = 0,
    password_file: PasswordFileOpt = None,
) -> None:
    """Cosign, as a witness (data governance), each anchored head shown consistent with the one before."""
    from ledger.data.checkpoints import AccessCheckpoints
    from ledger.translog.witness import witness as run_witness

    def fetch(log_id: int, first: int, second: int) -> list[bytes]:
        doc = _api_get(api_url, "/api/v1/access-log/consistency", {"log": log_id, "first": first, "second": second})
        return [bytes.fromhex(str(h).removeprefix("0x")) for h in doc["hashes"]]

    e = env()
    done = run_witness(AccessCheckpoints(e.ledger()), e.signer(key, password_file), log, fetch, after=after)
    for size in done.cosigned:
        out.say(f"  ✓ cosigned the checkpoint of size {size}")
    if done.already:
        out.say(f"  already cosigned: sizes {', '.join(map(str, done.already))}")
    if done.inconsistent:
        first, second = done.inconsistent
        out.say(f"  ✗ the checkpoint of size {second} does not extend the one of size {first}: "
                "the log was rewritten; not cosigned, nor anything after it")
        raise typer.Exit(out.EXIT_CHECK_FAILED)
    out.ok(f"log {log}: {len(done.cosigned)} checkpoints cosigned")
