"""The one ABI codec of the ledger: calls, return values, custom errors and event logs.

* :mod:`ledger.abi.types`: type strings, plain Python values, EIP-55 addresses.
* :mod:`ledger.abi.calls`: function specs from the committed ABIs, calldata
  (:func:`encode_call`), return values (:func:`decode_output`).
* :mod:`ledger.abi.reverts`: revert data to :class:`~ledger.errors.ContractReverted`
  with the custom error's name and arguments (:func:`decode_revert`).
* :mod:`ledger.abi.event_codec` (with the word decoders of :mod:`ledger.abi.words`):
  raw logs to arguments: :class:`ContractSpec` / :class:`EventSpec` decode a log to the
  canonical JSON the index stores (:func:`decode_log_hex`, the indexer's fast path,
  straight from JSON-RPC hex to the stored text) and back to Python values.
* :mod:`ledger.abi.records`: a view's decoded struct to our frozen records and back, by the
  record's own field list (:func:`~ledger.abi.records.record_from_view`,
  :func:`~ledger.abi.records.view_struct`), and a frozen record from a reducer's mutable one
  (:func:`~ledger.abi.records.record_from`).

Nothing else in the tree encodes or decodes ABI data by hand.
"""

from ledger.abi.calls import FunctionSpec, decode_output, encode_call, function
from ledger.abi.event_codec import (
    UNKNOWN_EVENT,
    ContractSpec,
    EventSpec,
    canonical_json,
    contract_spec,
    decode_log,
    decode_log_hex,
    events_of,
    normalize_value,
)
from ledger.abi.reverts import decode_revert, error_table, revert_data_from_exception
from ledger.abi.types import abi_type, bytes_of, checksum, hex_of, hex_text, is_address, normalize, quantity

__all__ = [
    "UNKNOWN_EVENT",
    "ContractSpec",
    "EventSpec",
    "FunctionSpec",
    "abi_type",
    "bytes_of",
    "canonical_json",
    "checksum",
    "contract_spec",
    "decode_log",
    "decode_log_hex",
    "decode_output",
    "decode_revert",
    "encode_call",
    "error_table",
    "events_of",
    "function",
    "hex_of",
    "hex_text",
    "is_address",
    "normalize",
    "normalize_value",
    "quantity",
    "revert_data_from_exception",
]
