"""Receipts of access-log entries, signed and verified against a real chain (the session Ganache).

The log of 卫健委 (dept_a) holds B + 12 entries (B + 5 and B + 11 made long ago, the others now)
and is anchored at size B + 10, B being whatever size an earlier test of the session anchored
for it (sizes only grow); each test signs a receipt and checks which named check passes or fails.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.client import Ledger
from ledger.data.checkpoints import AccessCheckpoints
from ledger.testing import MEMBER_IDS, Deployment
from ledger.translog.receipt import InclusionProof, Receipt, sign_receipt
from ledger.translog.receipt import verify_receipt as verify
from ledger.translog.store import TransparencyLog
from tests.ledger.cogov_cli import verify_receipt

LOG = MEMBER_IDS["dept_a"]
MMD = 3600


def log_entry(i: int, time: int) -> bytes:
    return (b'{"account":"0x00","dataset":1,"fields":"0x3","filter":null,"grant":1,"kind":"access",'
            b'"member":5,"query":"0x%02x","reason":null,"rows":%d,"time":%d,"v":1,"version":1}' % (i, i, time))


@dataclasses.dataclass
class Env:
    deployment: Deployment
    ledger: Ledger
    log: TransparencyLog
    now: int
    base: int

    def receipt(self, index: int = 3, entry: bytes | None = None, signer: str = "dept_a", **kw: Any) -> Receipt:
        index += self.base
        entry = self.log.entry(index) if entry is None else entry
        args: dict[str, Any] = {
            "log": LOG, "index": index, "entry": entry, "time": json.loads(entry)["time"], "mmd": MMD,
            "chain_id": self.ledger.chain_id, "checkpoints": self.ledger.contract("AccessCheckpoints").address, **kw,
        }
        return sign_receipt(self.deployment.signers[signer], **args)

    def proof(self, index: int = 3, size: int = 10) -> InclusionProof:
        """The log's proof of entry ``base + index`` in the tree of ``base + size``."""
        index, size = index + self.base, size + self.base
        return InclusionProof(LOG, index, size, tuple(self.log.inclusion_proof(index, size)))

    def fetch(self, log: int, leaf: int, size: int) -> InclusionProof:
        """A proof fetcher over the log (what the CLI asks the API for)."""
        return InclusionProof(log, leaf, size, tuple(self.log.inclusion_proof(leaf, size)))


@pytest.fixture(scope="module")
def env(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Any:
    led = deployment.ledger()
    now = int(led.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    cps = AccessCheckpoints(led)
    base = cps.latest(LOG).tree_size
    log = TransparencyLog(tmp_path_factory.mktemp("translog") / str(LOG))
    old = {base + 5, base + 11}  # entries made long ago: due under a checkpoint long before now
    log.append_many([log_entry(i, now - 10 * MMD if i in old else now) for i in range(base + 12)])
    log_id, _ = cps.anchor(deployment.signers["dept_a"], base + 10, log.root(base + 10), now)
    assert log_id == LOG
    yield Env(deployment, led, log, now, base)
    log.close()


def _statuses(v: Any) -> dict[str, str]:
    return {c.name: c.status for c in v.checks}


def test_the_wrapper_reads_the_anchored_checkpoint(env: Env) -> None:
    cps = AccessCheckpoints(env.ledger)
    size = env.base + 10
    cp = cps.at(LOG, size)
    assert (cp.tree_size, cp.root_hash, cp.timestamp) == (size, env.log.root(size), env.now)
    assert cps.covering(LOG, size - 1) == cp and not cps.covering(LOG, size).exists
    assert cps.latest(LOG) == cp and cps.count(LOG) >= 1


def test_a_good_receipt_passes_every_check(env: Env) -> None:
    receipt = env.receipt()
    assert Receipt.from_json(receipt.to_json()) == receipt
    for v in (verify(receipt, env.ledger, proof=env.proof()),
              verify(receipt, env.ledger, fetch=env.fetch)):
        assert v.ok, v.checks
        assert _statuses(v) == dict.fromkeys(("deployment", "signature", "leaf_hash", "timeliness", "inclusion"),
                                             "pass")


def test_a_forged_signature_fails_the_signature_check(env: Env) -> None:
    by_another_member = env.receipt(signer="dept_b")
    v = verify(by_another_member, env.ledger, proof=env.proof())
    assert v.check("signature").status == "fail" and f"not of member {LOG}" in v.check("signature").detail
    good = env.receipt()
    forgeries = [dataclasses.replace(good, mmd=good.mmd + 1), dataclasses.replace(good, signature=b"\x01" * 65),
                 dataclasses.replace(good, signature=good.signature[:64])]
    for i in range(0, 65, 8):  # some flips give another key, some no key at all
        bad = bytearray(good.signature)
        bad[i] ^= 1
        forgeries.append(dataclasses.replace(good, signature=bytes(bad)))
    for forged in forgeries:
        v = verify(forged, env.ledger, proof=env.proof())
        assert [c.name for c in v.failed] == ["signature"], v.checks


def test_an_edited_entry_fails_the_leaf_hash_check(env: Env) -> None:
    good = env.receipt()
    edited = dataclasses.replace(good, entry=good.entry.replace('"rows":', '"rows":1'))
    v = verify(edited, env.ledger, proof=env.proof())
    assert [c.name for c in v.failed] == ["leaf_hash"]


def test_a_proof_for_another_leaf_fails_the_inclusion_check(env: Env) -> None:
    receipt = env.receipt()
    for proof in (env.proof(index=4), dataclasses.replace(env.proof(index=4), leaf=3)):
        v = verify(receipt, env.ledger, proof=proof)
        assert [c.name for c in v.failed] == ["inclusion"], v.checks
    unanchored = verify(receipt, env.ledger, proof=env.proof(size=11))
    assert "no checkpoint" in unanchored.check("inclusion").detail


def test_a_signed_entry_missing_from_the_anchored_tree_fails_the_inclusion_check(env: Env) -> None:
    never_logged = env.receipt(entry=log_entry(99, env.now))
    v = verify(never_logged, env.ledger, fetch=env.fetch)
    assert [c.name for c in v.failed] == ["inclusion"], v.checks


def test_late_and_not_yet_due(env: Env) -> None:
    late = env.receipt(index=5)
    v = verify(late, env.ledger, proof=env.proof(index=5))
    assert [c.name for c in v.failed] == ["timeliness"] and v.check("timeliness").detail.startswith("late")
    uncovered = env.receipt(index=10)
    v = verify(uncovered, env.ledger, fetch=env.fetch)
    assert v.check("timeliness").status == "pending" and "not yet due" in v.check("timeliness").detail
    assert not v.failed and not v.ok
    overdue = env.receipt(index=11)
    v = verify(overdue, env.ledger, fetch=env.fetch)
    assert v.check("timeliness").status == "fail" and "no checkpoint covers" in v.check("timeliness").detail


def test_a_receipt_for_another_deployment_is_refused(env: Env) -> None:
    for other in (env.receipt(chain_id=env.ledger.chain_id + 1),
                  env.receipt(checkpoints=env.ledger.contract("DataSharing").address)):
        v = verify(other, env.ledger, proof=env.proof())
        assert [c.name for c in v.failed] == ["deployment"]


def _cli(env: Env, tmp_path: Path, receipt: Receipt, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt.to_json()), encoding="utf-8")
    d = env.deployment
    return verify_receipt(d.ganache.config.url, d.manifest_path, path, *args)


def test_the_cli_prints_each_check_and_exits_by_the_verdict(env: Env, tmp_path: Path) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(env.proof().to_json()), encoding="utf-8")
    good = _cli(env, tmp_path, env.receipt(), "--proof", str(proof))
    assert good.returncode == 0, good.stderr
    for name in ("deployment", "signature", "leaf_hash", "timeliness", "inclusion"):
        assert f"✓ {name}:" in good.stdout
    assert "+08:00" in good.stdout  # times for people
    edited = env.receipt()
    edited = dataclasses.replace(edited, entry=edited.entry.replace('"rows":', '"rows":1'))
    bad = _cli(env, tmp_path, edited, "--proof", str(proof))
    assert bad.returncode == 1 and "✗ leaf_hash:" in bad.stdout, bad.stdout
    not_yet = _cli(env, tmp_path, env.receipt(index=10))
    assert not_yet.returncode == 7 and "not yet due" in not_yet.stdout, not_yet.stdout + not_yet.stderr


def test_a_receipt_whose_time_is_not_its_entrys_fails_the_leaf_hash_check(env: Env) -> None:
    later = env.receipt(time=env.now + 600)  # signed, but the entry (its leaf) says another time
    v = verify(later, env.ledger, proof=env.proof())
    assert [c.name for c in v.failed] == ["leaf_hash"] and "states time" in v.check("leaf_hash").detail


def test_the_receipt_digest_is_the_eip712_encoders() -> None:
    """The gateway's fast digest (domain separator kept, struct hashed by hand) equals what eth-account's
    generic EIP-712 encoder makes of the published typed data, for any field values."""
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    from ledger.translog.receipt import receipt_digest, receipt_typed_data

    for args in ((1, 0, b"\x00" * 32, 0, 60, 1337, "0x" + "22" * 20),
                 (2**64 - 1, 2**63, bytes(range(32)), 1_765_000_000, 86_400, 31337, "0x" + "ab" * 20)):
        typed = encode_typed_data(full_message=receipt_typed_data(*args))
        assert receipt_digest(*args) == _hash_eip191_message(typed)
    # and the gateway's signature of a digest is eth-account's, byte for byte (RFC 6979: deterministic)
    from eth_account import Account
    from eth_typing import Hash32

    from ledger.keys import Signer

    account = Account.create()
    for n in range(20):
        digest = bytes([n]) * 32
        assert Signer("t", account).sign_digest(digest) == bytes(account.unsafe_sign_hash(Hash32(digest)).signature)
