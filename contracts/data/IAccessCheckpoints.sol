// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";

/// @title Checkpoints of the gateways' access transparency logs
/// @notice Each dataset-owner member's gateway keeps an append-only RFC 9162 Merkle log of every
/// access it served and refused (off chain); this contract anchors the log's tree heads. A
/// checkpoint is (tree size, root hash, timestamp) for the log of the anchoring member: sizes
/// only grow, so a log that rewrites history cannot produce a consistency proof from an anchored
/// head, and a receipt's entry is proven by an inclusion proof against the first checkpoint
/// whose size covers it. Data governance members other than the log's act as witnesses and
/// cosign the heads they have checked.
/// @dev The log id is the anchoring member's id in the {IMembershipRegistry}: any active account
/// of a Department member anchors that member's log, and key rotation loses nothing. Checkpoints
/// are kept per log in anchoring order (sizes strictly increasing), so {checkpointAt} and
/// {checkpointCovering} are binary searches.
interface IAccessCheckpoints {
    /// @notice A checkpoint as the views return it; `treeSize` 0 means "none".
    struct Checkpoint {
        uint64 treeSize;
        bytes32 rootHash;
        uint48 timestamp; // the tree head's time, as the log states it (<= anchoredAt)
        uint48 anchoredAt; // the block time of the anchoring transaction
        uint32 cosignerCount;
    }

    /// @notice `anchorer`, an account of member `logId`, anchored the head of its log.
    event CheckpointAnchored(uint64 indexed logId, uint64 treeSize, bytes32 rootHash, uint48 timestamp, address anchorer);

    /// @notice Data-governance member `witnessId` (through `witness`) cosigned an anchored head.
    event CheckpointCosigned(
        uint64 indexed logId, uint64 indexed treeSize, bytes32 rootHash, uint64 indexed witnessId, address witness
    );

    /// @notice `account` is not an active account of a member holding `role`.
    error CheckpointMissingRole(address account, IMembershipRegistry.Role role);
    /// @notice A zero root hash (no tree of size >= 1 has it).
    error CheckpointZeroRoot();
    /// @notice Tree sizes only grow: `treeSize` is not above the log's latest anchored `latestSize`.
    error CheckpointSizeNotIncreasing(uint64 logId, uint64 treeSize, uint64 latestSize);
    /// @notice A head's `timestamp` is after the block's time `blockTime`.
    error CheckpointTimestampInFuture(uint48 timestamp, uint48 blockTime);
    /// @notice A head's `timestamp` is before the log's latest checkpoint's `latestTimestamp`.
    error CheckpointTimestampBeforeLatest(uint48 timestamp, uint48 latestTimestamp);
    /// @notice Log `logId` has no checkpoint of size `treeSize`.
    error CheckpointUnknown(uint64 logId, uint64 treeSize);
    /// @notice `rootHash` is not the root `anchored` for size `treeSize` of log `logId`.
    error CheckpointRootMismatch(uint64 logId, uint64 treeSize, bytes32 rootHash, bytes32 anchored);
    /// @notice A log's own member cannot witness its log.
    error CheckpointOwnLog(uint64 logId);
    /// @notice Witness member `witnessId` already cosigned this checkpoint.
    error CheckpointAlreadyCosigned(uint64 logId, uint64 treeSize, uint64 witnessId);

    /// @notice Anchor the head of the caller's member's log (the log id is that member's id).
    /// @dev Caller: an active account of a member with the Department role. `treeSize` must exceed
    /// the log's latest anchored size, `rootHash` be non-zero, and `timestamp` lie between the
    /// latest checkpoint's timestamp and the block's time. Emits {CheckpointAnchored}.
    /// @return logId The log the checkpoint belongs to.
    function anchorCheckpoint(uint64 treeSize, bytes32 rootHash, uint48 timestamp) external returns (uint64 logId);

    /// @notice Cosign, as a witness, the anchored head of size `treeSize` of log `logId`.
    /// @dev Caller: an active account of a DataGovernance member other than `logId`; `rootHash`
    /// must be the anchored root for that size (the witness states what it checked); once per
    /// witness member. Emits {CheckpointCosigned}.
    function cosignCheckpoint(uint64 logId, uint64 treeSize, bytes32 rootHash) external;

    /// @notice The log's latest checkpoint (`treeSize` 0: none yet).
    function latestCheckpoint(uint64 logId) external view returns (Checkpoint memory);

    /// @notice The log's checkpoint of exactly `treeSize` entries; reverts {CheckpointUnknown}.
    function checkpointAt(uint64 logId, uint64 treeSize) external view returns (Checkpoint memory);

    /// @notice The first checkpoint that covers entry `index` (the smallest anchored size above
    /// `index`): the head against which that entry's inclusion is proven (`treeSize` 0: none yet).
    function checkpointCovering(uint64 logId, uint64 index) external view returns (Checkpoint memory);

    /// @notice The number of checkpoints anchored for the log.
    function checkpointCount(uint64 logId) external view returns (uint256);

    /// @notice The witness members that cosigned the log's checkpoint of size `treeSize`, in order.
    function cosigners(uint64 logId, uint64 treeSize) external view returns (uint64[] memory);

    /// @notice The membership registry the roles come from.
    function registry() external view returns (address);
}
