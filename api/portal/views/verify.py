"""The verification page and one transaction's page."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.portal.views.common import (
    ACCOUNT,
    CLASSIFICATIONS,
    ESCALATION_CAUSES,
    MOTION_KINDS,
    OUTCOMES,
    REFUSAL_REASONS,
    REOPEN_CAUSES,
    SATISFACTION_LEVELS,
    plain_hex,
)
from api.services.names import MEMBER_KINDS, Members
from ledger.errors import LedgerError
from ledger.fund.trace import CONTRIBUTOR_KINDS

if TYPE_CHECKING:
    from ledger.client import Ledger
    from ledger.index import Indexer
    from ledger.manifest import Manifest


# ----------------------------------------------------------------------------- verification


def verification(manifest: Manifest | None, report_path: Path | None, index: Indexer | None) -> dict[str, Any]:
    """The latest audit verdict (if a report exists) and what anyone needs to verify it themselves."""
    out: dict[str, Any] = {"report": None, "report_path": str(report_path) if report_path else None,
                           "report_error": None, "manifest": None, "contracts": [], "last_block": None}
    if report_path is not None and Path(report_path).is_file():
        try:
            data = json.loads(Path(report_path).read_text(encoding="utf-8"))
            out["report"] = _audit_summary(data)
        except (OSError, ValueError) as exc:
            out["report_error"] = f"{type(exc).__name__}: {exc}"
    if manifest is not None:
        out["manifest"] = {"chain_id": manifest.chain_id, "genesis_hash": manifest.genesis_hash,
                           "compiler": manifest.compiler.version,
                           "settings": json.dumps(manifest.compiler.settings, sort_keys=True, ensure_ascii=False)}
        out["contracts"] = [
            {"name": name, "address": c.address, "runtime_keccak": c.runtime_keccak,
             "block": c.block_number, "tx_hash": c.tx_hash}
            for name, c in sorted(manifest.contracts.items(), key=lambda kv: kv[1].block_number)
        ]
    if index is not None:
        try:
            out["last_block"] = index.last_block()
        except LedgerError:
            out["last_block"] = None
    return out


def _audit_summary(data: Mapping[str, Any]) -> dict[str, Any]:
    """The public part of an audit report: verdict, when, at which block, checks passed/failed."""
    ok = data.get("ok", data.get("passed"))
    verdict = data.get("verdict")
    if ok is None and isinstance(verdict, str):
        ok = verdict.lower() in ("pass", "passed", "ok")
    checks_raw = data.get("checks", [])
    if isinstance(data.get("rules"), list):  # `cogov audit verify`'s report (ledger.audit.findings.AuditReport)
        checks_raw = [
            {"name": r.get("title") or r.get("id"), "ok": not r.get("errors"), "violations": r.get("errors", 0)}
            for r in data["rules"] if isinstance(r, Mapping)
        ]
    checks: list[dict[str, Any]] = []
    items: Iterable[Any] = checks_raw.items() if isinstance(checks_raw, dict) else enumerate(checks_raw)
    for key, c in items:
        if isinstance(c, Mapping):
            name = str(c.get("name", c.get("check", key)))
            passed = c.get("ok", c.get("passed"))
            if passed is None and "status" in c:
                passed = str(c["status"]).lower() in ("ok", "pass", "passed")
            violations = c.get("violations", [])
            checks.append({"name": name, "ok": bool(passed) if passed is not None else None,
                           "violations": len(violations) if isinstance(violations, list) else int(violations or 0)})
        else:
            checks.append({"name": str(key), "ok": bool(c), "violations": 0})
    violations = data.get("violations", [])
    if isinstance(data.get("findings"), list):  # findings' messages stay in the auditor's report
        violations = [f for f in data["findings"] if isinstance(f, Mapping) and f.get("severity", "error") == "error"]
    return {
        "ok": bool(ok) if ok is not None else None,
        "generated_at": data.get("generated_at") or data.get("created_at") or data.get("time"),
        "block": data.get("head_block", data.get("block", data.get("to_block"))),
        "chain_id": data.get("chain_id"),
        "checks": checks,
        "violations": len(violations) if isinstance(violations, list) else int(violations or 0),
    }


# ----------------------------------------------------------------------------- one transaction

# Arguments never shown on the public page (purpose and scope, query and content digests,
# node addresses, data keys, raw proposal payloads, memo digests).
_HIDDEN_ARGS = frozenset({
    "purposeCode", "purposeHash", "scopeHash", "queryHash", "metadataHash", "schemaHash", "contentHash",
    "oldContentHash", "newContentHash", "memoHash", "enodeId", "ip", "port", "nodeKey", "oldKey", "newKey",
    "data", "title", "depositRef", "redemptionRef", "reasonCode", "rowCount",
})
_PUBLIC_HASHES = frozenset({"invoiceHash", "titleHash", "descriptionHash", "merkleRoot", "evidenceHash"})
# Arguments naming members, shown by organisation name.
_MEMBER_ARGS = frozenset({
    "memberId", "ownerId", "requesterId", "granteeId", "proposerId", "treasurerId", "governanceId", "anchorerId",
    "raiserId", "leadId", "responsibleId", "channelId",
})
_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ContributionReceived", "kind"): CONTRIBUTOR_KINDS,
    ("MotionProposed", "kind"): MOTION_KINDS,
    ("MotionDecided", "kind"): MOTION_KINDS,
    ("MemberAdmitted", "kind"): MEMBER_KINDS,
    ("DatasetRegistered", "classification"): CLASSIFICATIONS,
    ("AccessRefused", "reason"): REFUSAL_REASONS,
    ("CaseEvaluated", "outcome"): OUTCOMES,
    ("SatisfactionRecorded", "level"): SATISFACTION_LEVELS,
    ("CaseEscalated", "cause"): ESCALATION_CAUSES,
    ("CaseReopened", "cause"): REOPEN_CAUSES,
}


def public_args(event: str, args: Mapping[str, Any], members: Members) -> list[tuple[str, str]]:
    """An event's arguments fit for the public: accounts become organisation names, private digests go."""
    shown: list[tuple[str, str]] = []
    for name, value in args.items():
        if name in _HIDDEN_ARGS:
            continue
        if name == "name" and event != "MemberAdmitted":
            continue
        if isinstance(value, bytes | bytearray):
            if name in _PUBLIC_HASHES:
                shown.append((name, plain_hex(value)))
            continue
        if isinstance(value, str) and ACCOUNT.match(value):
            m = members.of_account(value)
            shown.append((name, m.name if m else "—"))
            continue
        if isinstance(value, bool):
            shown.append((name, "true" if value else "false"))
            continue
        if isinstance(value, int):
            labels = _ENUMS.get((event, name))
            if labels is not None and 0 <= value < len(labels):
                shown.append((name, labels[value]))
                continue
            if name in _MEMBER_ARGS:
                shown.append((name, (members.name(value) or f"#{value}") if value else "—"))
                continue
            shown.append((name, str(value)))
            continue
        if name == "assistingIds" and isinstance(value, list | tuple):
            shown.append((name, "、".join(members.name(int(m)) or f"#{m}" for m in value) or "—"))
            continue
        if isinstance(value, str) and event == "MemberAdmitted" and name == "name":
            shown.append((name, value))
    return shown


def transaction(index: Indexer | None, ledger: Ledger, tx_hash: str) -> dict[str, Any] | None:
    """One transaction: its receipt from the chain and the decoded events of our contracts from the index."""
    rows = index.events(tx_hash=tx_hash, limit=1000) if index is not None else []
    receipt: dict[str, Any] | None = None
    chain_error: str | None = None
    try:
        receipt = ledger.rpc("eth_getTransactionReceipt", [tx_hash])
    except LedgerError as exc:
        chain_error = exc.message if hasattr(exc, "message") else str(exc)
    if not rows and not receipt:
        return None
    members = Members.load(index)
    contracts = {addr.lower(): name for name, addr in (index.contracts.items() if index is not None else [])}
    out: dict[str, Any] = {"tx_hash": tx_hash.lower(), "chain_error": chain_error, "receipt": None, "events": []}
    if receipt:
        sender = members.of_account(str(receipt.get("from", "")))
        to = str(receipt.get("to") or "")
        out["receipt"] = {
            "status": "success" if int(str(receipt.get("status", "0x0")), 16) == 1 else "failed",
            "block": int(str(receipt["blockNumber"]), 16),
            "gas_used": int(str(receipt.get("gasUsed", "0x0")), 16),
            "from": sender.name if sender else None,
            "to": contracts.get(to.lower(), "—") if to else "—",
            "to_address": to if to.lower() in contracts else None,
        }
    for r in rows:
        out["events"].append({"contract": r.contract, "event": r.name, "log_index": r.log_index,
                              "block": r.block_number, "time": r.block_time,
                              "args": public_args(r.name, r.args, members)})
    if rows:
        out["time"] = rows[0].block_time
        out["block"] = rows[0].block_number
    elif out["receipt"]:
        out["block"] = out["receipt"]["block"]
        out["time"] = None
    return out
