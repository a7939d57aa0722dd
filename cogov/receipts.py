"""``cogov data verify-receipt``: check a gateway's signed receipt of an access-log entry against the chain.

Exit status: 0 when every check passes, 1 when one fails, 7 when nothing failed but the entry is
not yet due under a checkpoint (its ``time + mmd`` is still ahead).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import JsonOpt, read_file

if TYPE_CHECKING:
    from ledger.translog.receipt import InclusionProof, ProofFetcher

#: Merged into ``cogov data`` (cogov/app.py).
receipt_app = typer.Typer()

EXIT_NOT_YET_DUE = 7
_MARK = {"pass": "✓", "fail": "✗", "pending": "…"}


def _fetcher(api_url: str) -> ProofFetcher:
    """Fetches inclusion proofs from the gateway's API (API key from $COGOV_API_KEY)."""
    import httpx

    from ledger.errors import ConfigError, LedgerError
    from ledger.translog.receipt import InclusionProof

    token = os.environ.get("COGOV_API_KEY")
    if not token:
        raise ConfigError("set COGOV_API_KEY to your API key (never pass it as an argument)")

    def fetch(log: int, leaf: int, size: int) -> InclusionProof:
        try:
            resp = httpx.get(f"{api_url.rstrip('/')}/api/v1/access-log/proof",
                             params={"log": log, "leaf": leaf, "size": size},
                             headers={"Authorization": f"Bearer {token}"}, timeout=60)
        except httpx.HTTPError as exc:
            raise LedgerError(f"the API at {api_url} is unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise LedgerError(f"the API answered {resp.status_code}: {resp.text[:300]}")
        return InclusionProof.from_json(resp.json())

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
