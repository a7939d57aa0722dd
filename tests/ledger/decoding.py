"""Three decodings of one raw JSON-RPC log, for the tests that hold the fast one to the others:
the events the auditor and the receipts get (:func:`ledger.events.decode_logs`, straight from the
node's hex), the bytes path through the canonical JSON (what that function did before), and
web3's own ``get_event_data`` (eth_abi)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web3 import Web3
from web3._utils.events import get_event_data

from ledger.abi import ContractSpec, bytes_of, decode_log
from ledger.events import decode_logs

_W3 = Web3()


def fast(spec: ContractSpec, log: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, args) as the auditor decodes ``log`` (hex text as a node gives it)."""
    (event,) = decode_logs([log], {spec.address.lower(): spec}, keep_unknown=True)
    assert event.address == spec.address
    return event.name, dict(event.args)


def through_json(spec: ContractSpec, log: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, args) by the bytes path: decoded to canonical JSON, then back to Python values."""
    name, args, _ = decode_log(spec, [bytes_of(t) for t in log["topics"]], bytes_of(log["data"]))
    return name, spec.to_python(name, args)


def by_web3(spec: ContractSpec, log: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, args) as web3 decodes ``log`` with its event's ABI (arrays as lists)."""
    event = spec.events_by_hex[str(log["topics"][0]).lower()]
    abi = {"type": "event", "name": event.name, "inputs": list(event.inputs), "anonymous": False}
    raw = {**log, "topics": [bytes_of(t) for t in log["topics"]], "data": bytes_of(log["data"])}
    args = get_event_data(_W3.codec, abi, raw)["args"]
    return event.name, {k: _lists(v) for k, v in args.items()}


def agree(spec: ContractSpec, log: Mapping[str, Any], *, well_formed: bool = True) -> str:
    """Assert the auditor's decoding of ``log`` equals the bytes path's, and, for a ``well_formed``
    log, web3's; its event name. (A malformed log is kept raw by both of ours, the same way:
    web3 is stricter than both about a tail's padding, so it is not the judge there.)"""
    name, args = fast(spec, log)
    assert (name, args) == through_json(spec, log)
    if well_formed:
        assert (name, args) == by_web3(spec, log)
    return name


def _lists(v: Any) -> Any:
    return [_lists(x) for x in v] if isinstance(v, list | tuple) else v
