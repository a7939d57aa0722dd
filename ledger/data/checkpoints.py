"""The typed wrapper of ``AccessCheckpoints``: the anchored heads of the gateways' access
transparency logs (:mod:`ledger.translog`) and their witnesses' cosignatures.

A log's id is its member's id: :meth:`AccessCheckpoints.anchor` anchors the log of the
signer's member. Views answer :class:`Checkpoint` records (``tree_size`` 0: none).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.abi.records import record_from_view
from ledger.client import ContractCall
from ledger.wrapper import ContractWrapper, sending, sending_for

NAME = "AccessCheckpoints"


@dataclass(frozen=True)
class Checkpoint:
    """An anchored tree head of one log."""

    tree_size: int
    root_hash: bytes
    timestamp: int  # the head's time, as the log states it
    anchored_at: int  # the block time of the anchoring transaction
    cosigner_count: int

    @property
    def exists(self) -> bool:
        return self.tree_size > 0


class AccessCheckpoints(ContractWrapper):
    """The AccessCheckpoints contract of one deployment."""

    contract = NAME

    # ---------------------------------------------------------------- reads

    def latest(self, log_id: int) -> Checkpoint:
        return record_from_view(Checkpoint, self._call("latestCheckpoint", log_id))

    def at(self, log_id: int, tree_size: int) -> Checkpoint:
        """The checkpoint of exactly ``tree_size`` (ContractReverted ``CheckpointUnknown`` if none)."""
        return record_from_view(Checkpoint, self._call("checkpointAt", log_id, tree_size))

    def covering(self, log_id: int, index: int) -> Checkpoint:
        """The first checkpoint whose size is above ``index`` (``tree_size`` 0: none yet)."""
        return record_from_view(Checkpoint, self._call("checkpointCovering", log_id, index))

    def count(self, log_id: int) -> int:
        return int(self._call("checkpointCount", log_id))

    def cosigners(self, log_id: int, tree_size: int) -> tuple[int, ...]:
        return tuple(int(m) for m in self._call("cosigners", log_id, tree_size))

    # ---------------------------------------------------------------- prepared writes

    def anchor_call(self, tree_size: int, root_hash: bytes, timestamp: int) -> ContractCall:
        """Anchor the head of the signer's member's log."""
        return self._prepare("anchorCheckpoint", tree_size, root_hash, timestamp)

    def cosign_call(self, log_id: int, tree_size: int, root_hash: bytes) -> ContractCall:
        """Cosign, as a witness (another DataGovernance member), an anchored head."""
        return self._prepare("cosignCheckpoint", log_id, tree_size, root_hash)

    # ---------------------------------------------------------------- sent and waited for

    anchor = sending_for(anchor_call, "CheckpointAnchored", "logId")
    cosign = sending(cosign_call)
