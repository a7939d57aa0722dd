"""Rule 1, code: the code running at each manifest address is the reviewed source.

* the runtime code equals the committed artifact's deployed bytecode with the
  immutables masked (:func:`ledger.verify.code_matches`); the CBOR metadata at
  the end commits to every source file's keccak256, so a different source,
  compiler or setting never matches;
* the immutables the constructor wrote are the manifest's constructor arguments;
* the deployment transaction ran the artifact's creation code with those arguments;
* that transaction was sent by the manifest's ``deployer`` as a contract creation
  (``to`` null) and succeeded, in the manifest's block, creating the manifest address
  (a byte-identical copy deployed by anyone else is not the deployment);
* the contracts reference each other as deployed: the fund's ``registry()`` and
  ``token()``, data sharing's ``registry()`` and the token's ``registry()`` are the
  manifest's addresses;
* the artifact's source hashes (sha256) and the metadata's keccak256 equal the
  files in ``contracts/`` (and ``node_modules/`` where present);
* optionally (``recompile``) a fresh compile with the committed settings gives the
  same bytecode.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from ledger import artifacts
from ledger.abi import abi_type, bytes_of
from ledger.audit.collect import Collector
from ledger.audit.findings import ContractCode
from ledger.audit.reads import Call, Reads
from ledger.config import REPO_ROOT
from ledger.errors import LedgerError
from ledger.manifest import ContractDeployment, Manifest
from ledger.verify import code_matches, mask_immutables


def _tuplify(v: Any) -> Any:
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def constructor_args(name: str, args: list[Any]) -> bytes:
    ctor = next((i for i in artifacts.abi(name) if i.get("type") == "constructor"), None)
    if ctor is None:
        return b""
    types = [abi_type(i) for i in ctor["inputs"]]
    values: list[Any] = []
    for t, v in zip(types, args, strict=True):
        if t.startswith("(") and t.endswith("]"):
            values.append([_tuplify(x) for x in v])
        elif t.startswith("bytes") and isinstance(v, str):
            values.append(bytes_of(v))
        else:
            values.append(v)
    return encode(types, values)


def _metadata_tail(code: bytes) -> bytes:
    """The CBOR metadata at the end of runtime code (its length is the last two bytes)."""
    if len(code) < 2:
        return b""
    n = int.from_bytes(code[-2:], "big")
    return code[-(n + 2) :] if n + 2 <= len(code) else b""


def check_sources(out: Collector, root: Path) -> None:
    """Source hashes of every artifact against the files on disk (contracts/ must exist)."""
    seen: set[str] = set()
    for name in artifacts.names():
        art = artifacts.load(name)
        meta_sources = json.loads(art["metadata"]).get("sources", {})
        for path, sha in art.get("sourceHashes", {}).items():
            if path in seen:
                continue
            seen.add(path)
            f = root / path
            if not f.is_file():
                if path.startswith("contracts/"):
                    out.expect("code.source-hash-mismatch", False, f"{path} (a source of {name}) is missing", path=path)
                continue
            data = f.read_bytes()
            got_sha = "0x" + hashlib.sha256(data).hexdigest()
            got_keccak = "0x" + keccak(data).hex()
            want_keccak = meta_sources.get(path, {}).get("keccak256")
            out.expect(
                "code.source-hash-mismatch",
                got_sha == sha and (want_keccak in (None, got_keccak)),
                f"{path} differs from the source the committed artifacts were compiled from",
                path=path,
                artifact_sha256=sha,
                file_sha256=got_sha,
                metadata_keccak256=want_keccak,
                file_keccak256=got_keccak,
            )


def check_code(
    reads: Reads, manifest: Manifest, out: Collector, head: int, *, root: Path = REPO_ROOT, recompile: bool = False
) -> list[ContractCode]:
    result: list[ContractCode] = []
    names = list(manifest.contracts)
    codes = reads.rpc_batch([("eth_getCode", [manifest.contracts[n].address, hex(head)]) for n in names])
    txs = reads.rpc_batch([("eth_getTransactionByHash", [manifest.contracts[n].tx_hash]) for n in names])
    receipts = reads.rpc_batch([("eth_getTransactionReceipt", [manifest.contracts[n].tx_hash]) for n in names])
    for name, code, tx, receipt in zip(names, codes, txs, receipts, strict=True):
        dep = manifest.contracts[name]
        art = artifacts.load(name)
        matches = False
        if out.expect(
            "code.no-code",
            code not in (None, "0x", ""),
            f"no code at {name}'s address {dep.address}",
            contract=name,
            address=dep.address,
        ):
            onchain = bytes_of(code)
            expected = bytes_of(art["deployedBytecode"])
            matches = code_matches(code, art)
            out.expect(
                "code.runtime-mismatch",
                matches,
                f"the code at {name}'s address {dep.address} is not the committed {name} "
                f"({len(onchain)} bytes on chain, {len(expected)} expected)",
                contract=name,
                address=dep.address,
                chain_keccak="0x" + keccak(onchain).hex(),
                expected_masked_keccak="0x" + keccak(mask_immutables(expected, art)).hex(),
                chain_length=len(onchain),
                expected_length=len(expected),
                metadata_equal=_metadata_tail(onchain) == _metadata_tail(expected),
                manifest_runtime_keccak=dep.runtime_keccak,
            )
            if matches:
                _check_immutables(out, name, dep.address, onchain, art, dep.constructor_args)
        _check_creation(out, name, dep, art, tx, receipt)
        if tx is not None and receipt is not None:  # else: not on chain, a creation mismatch already
            _check_deployer(out, name, dep, manifest.deployer, tx, receipt)
        result.append(
            ContractCode(
                name=name,
                address=dep.address,
                deployed_block=dep.block_number,
                code_matches=matches,
                runtime_keccak=("0x" + keccak(bytes_of(code)).hex()) if code not in (None, "0x", "") else None,
                source_hashes=dict(art.get("sourceHashes", {})),
            )
        )
    _check_wiring(reads, manifest, out, head)
    if recompile:
        _recompile(out, names)
    return result


def _check_deployer(
    out: Collector, name: str, dep: ContractDeployment, deployer: str, tx: dict[str, Any], receipt: dict[str, Any]
) -> None:
    """The stated transaction is the manifest deployer's successful creation of the address."""
    sender = str(tx.get("from") or "").lower()
    created = str(receipt.get("contractAddress") or "").lower()
    tx_block = int(tx["blockNumber"], 16) if tx.get("blockNumber") else None
    problems = []
    if sender != deployer.lower():
        problems.append(f"it was sent by {sender}, not the manifest's deployer {deployer}")
    if tx.get("to") is not None:
        problems.append(f"it is a call to {tx['to']}, not a contract creation")
    if int(str(receipt.get("status") or "0x0"), 16) != 1:
        problems.append("it failed")
    if created != dep.address.lower():
        problems.append(f"it created {created or 'nothing'}, not {dep.address}")
    if tx_block != dep.block_number:
        problems.append(f"it is in block {tx_block}, not {dep.block_number}")
    out.expect(
        "code.deployer-mismatch",
        not problems,
        f"{name} at {dep.address} was not created by the manifest's deployer in transaction {dep.tx_hash}: "
        + "; ".join(problems),
        contract=name,
        tx_hash=dep.tx_hash,
        block=tx_block,
        address=dep.address,
        sender=sender,
        deployer=deployer,
        created=created,
    )


def _check_wiring(reads: Reads, manifest: Manifest, out: Collector, head: int) -> None:
    """Each contract's references to the others (views at ``head``) are the manifest's addresses."""
    addr = {n: d.address for n, d in manifest.contracts.items()}
    registry = addr.get("MembershipRegistry")
    token = manifest.parameters.get("fund_token") or addr.get("CommunityCredit")
    wanted: list[tuple[Call, str | None, str]] = [
        (Call("CoGovFund", "registry"), registry, "MembershipRegistry"),
        (Call("CoGovFund", "token"), token, "the fund token"),
        (Call("DataSharing", "registry"), registry, "MembershipRegistry"),
        (Call("CommunityCredit", "registry"), registry, "MembershipRegistry"),
        (Call("CaseDesk", "registry"), registry, "MembershipRegistry"),
        (Call("AccessCheckpoints", "registry"), registry, "MembershipRegistry"),
    ]
    wanted = [w for w in wanted if w[0].contract in addr and w[1] is not None]
    answers = reads.calls([c for c, _, _ in wanted], head)
    for (call, expected, what), got in zip(wanted, answers, strict=True):
        assert expected is not None
        ok = not isinstance(got, LedgerError) and str(got).lower() == expected.lower()
        out.expect(
            "code.wiring-mismatch",
            ok,
            f"{call.contract}.{call.fn}() is {got}, not the manifest's {what} {expected}",
            contract=call.contract,
            address=addr[call.contract],
            view=call.fn,
            got=str(got),
            expected=expected,
        )


def _check_immutables(
    out: Collector, name: str, address: str, code: bytes, art: dict[str, Any], args: list[Any]
) -> None:
    try:
        encoded = constructor_args(name, args)
    except Exception as exc:  # the manifest's arguments do not fit the constructor
        out.expect(
            "code.immutable-mismatch",
            False,
            f"{name}: manifest constructor arguments do not encode ({exc})",
            contract=name,
        )
        return
    words = {encoded[i : i + 32] for i in range(0, len(encoded), 32)}
    for ast_id, refs in art.get("immutableReferences", {}).items():
        values = {code[int(r["start"]) : int(r["start"]) + int(r["length"])] for r in refs}
        ok = len(values) == 1 and next(iter(values)) in words
        out.expect(
            "code.immutable-mismatch",
            ok,
            f"{name} at {address}: immutable #{ast_id} holds {sorted('0x' + v.hex() for v in values)}, "
            "not a constructor argument of the manifest",
            contract=name,
            immutable=ast_id,
            values=sorted("0x" + v.hex() for v in values),
        )


def _check_creation(
    out: Collector,
    name: str,
    dep: ContractDeployment,
    art: dict[str, Any],
    tx: dict[str, Any] | None,
    receipt: dict[str, Any] | None,
) -> None:
    if tx is None or receipt is None:
        out.expect(
            "code.creation-mismatch",
            False,
            f"{name}'s deployment transaction {dep.tx_hash} is not on chain",
            contract=name,
            tx_hash=dep.tx_hash,
        )
        return
    try:
        expected = bytes_of(art["bytecode"]) + constructor_args(name, dep.constructor_args)
    except Exception:
        expected = b""
    created = str(receipt.get("contractAddress") or "").lower()
    out.expect(
        "code.creation-mismatch",
        bytes_of(tx["input"]) == expected
        and created == dep.address.lower()
        and int(receipt["blockNumber"], 16) == dep.block_number,
        f"{name}'s deployment transaction did not create the manifest address with the committed creation code "
        "and the manifest's constructor arguments",
        contract=name,
        tx_hash=dep.tx_hash,
        block=int(receipt["blockNumber"], 16),
        created=created,
        input_length=len(bytes_of(tx["input"])),
        expected_length=len(expected),
    )


def _recompile(out: Collector, names: list[str]) -> None:
    from ledger import compiler

    _input, fresh = compiler.compile_all()
    for name in names:
        art = artifacts.load(name)
        new = fresh.get(name, {})
        out.expect(
            "code.recompile-mismatch",
            new.get("deployedBytecode") == art["deployedBytecode"] and new.get("bytecode") == art["bytecode"],
            f"a fresh compile of {name} differs from the committed artifact",
            contract=name,
        )
