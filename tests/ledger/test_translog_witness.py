"""A witness cosigns each anchored head of a log once it is shown to extend the previous one (session Ganache).

The log of 街道办 (c1, member 1) is anchored twice; 区数据局 (c3, data governance) witnesses it.
Then the gateway rewrites an entry under an anchored head and anchors the rewritten log: no
consistency proof can join the two roots the chain holds, and the witness stops there.
"""

from __future__ import annotations

from pathlib import Path

from ledger.data.checkpoints import AccessCheckpoints
from ledger.testing import MEMBER_IDS, Deployment
from ledger.translog.store import TransparencyLog
from ledger.translog.witness import witness

LOG = MEMBER_IDS["c1"]


def test_a_witness_cosigns_extensions_and_stops_at_a_rewrite(deployment: Deployment, tmp_path: Path) -> None:
    led = deployment.ledger()
    cps = AccessCheckpoints(led)
    base = cps.latest(LOG).tree_size  # an earlier run's anchors of this log: sizes only grow
    now = int(led.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    entries = [b'{"i":%d}' % i for i in range(base + 20)]
    honest = TransparencyLog(tmp_path / "honest")
    honest.append_many(entries)
    for size in (base + 5, base + 12):
        cps.anchor(deployment.signers["c1"], size, honest.root(size), now)

    def honest_proof(log: int, first: int, second: int) -> list[bytes]:
        assert log == LOG
        return honest.consistency_proof(first, second)

    w = deployment.signers["c3"]
    done = witness(cps, w, LOG, honest_proof, after=base)
    assert done.ok and done.cosigned == (base + 5, base + 12) and not done.already
    assert cps.cosigners(LOG, base + 12) == (MEMBER_IDS["c3"],)
    again = witness(cps, w, LOG, honest_proof, after=base)
    assert again.ok and again.cosigned == () and again.already == (base + 5, base + 12)

    rewritten = TransparencyLog(tmp_path / "rewritten")
    rewritten.append_many([b'{"i":"gone"}' if i == base + 2 else e for i, e in enumerate(entries)])
    cps.anchor(deployment.signers["c1"], base + 16, rewritten.root(base + 16), now)
    for fetch in (honest_proof, lambda log, first, second: rewritten.consistency_proof(first, second)):
        stopped = witness(cps, w, LOG, fetch, after=base + 12)
        assert stopped.inconsistent == (base + 12, base + 16) and not stopped.cosigned
    assert cps.cosigners(LOG, base + 16) == ()
    honest.close()
    rewritten.close()
