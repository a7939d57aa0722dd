// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {IAccessCheckpoints} from "./IAccessCheckpoints.sol";

/// @title Checkpoints of the gateways' access transparency logs
/// @notice See {IAccessCheckpoints}.
contract AccessCheckpoints is IAccessCheckpoints {
    /// @dev One slot per log: how many checkpoints it has and the latest one's size and time.
    struct Log {
        uint64 count;
        uint64 latestSize;
        uint48 latestTimestamp;
    }

    /// @dev Two slots per checkpoint: the root, then the rest.
    struct Stored {
        bytes32 rootHash;
        uint64 treeSize;
        uint48 timestamp;
        uint48 anchoredAt;
    }

    IMembershipRegistry private immutable _registry;

    mapping(uint64 logId => Log) private _logs;
    /// @dev Positions 0 .. count-1, in anchoring order (sizes strictly increasing).
    mapping(uint64 logId => mapping(uint256 position => Stored)) private _checkpoints;
    mapping(uint64 logId => mapping(uint64 treeSize => uint64[] witnessIds)) private _cosigners;
    mapping(uint64 logId => mapping(uint64 treeSize => mapping(uint64 witnessId => bool))) private _cosigned;

    /// @param registry_ The membership registry: roles and member accounts.
    constructor(IMembershipRegistry registry_) {
        _registry = registry_;
    }

    /// @inheritdoc IAccessCheckpoints
    function anchorCheckpoint(uint64 treeSize, bytes32 rootHash, uint48 timestamp) external returns (uint64 logId) {
        logId = _requireRole(IMembershipRegistry.Role.Department);
        _anchor(logId, treeSize, rootHash, timestamp);
    }

    /// @inheritdoc IAccessCheckpoints
    function cosignCheckpoint(uint64 logId, uint64 treeSize, bytes32 rootHash) external {
        uint64 witnessId = _requireRole(IMembershipRegistry.Role.DataGovernance);
        _cosign(logId, treeSize, rootHash, witnessId);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IAccessCheckpoints
    function latestCheckpoint(uint64 logId) external view returns (Checkpoint memory) {
        uint64 n = _logs[logId].count;
        return n == 0 ? _none() : _view(logId, n - 1);
    }

    /// @inheritdoc IAccessCheckpoints
    function checkpointAt(uint64 logId, uint64 treeSize) external view returns (Checkpoint memory) {
        return _view(logId, _find(logId, treeSize));
    }

    /// @inheritdoc IAccessCheckpoints
    function checkpointCovering(uint64 logId, uint64 index) external view returns (Checkpoint memory) {
        uint256 i = _firstAbove(logId, index);
        return i == _logs[logId].count ? _none() : _view(logId, i);
    }

    /// @inheritdoc IAccessCheckpoints
    function checkpointCount(uint64 logId) external view returns (uint256) {
        return _logs[logId].count;
    }

    /// @inheritdoc IAccessCheckpoints
    function cosigners(uint64 logId, uint64 treeSize) external view returns (uint64[] memory) {
        return _cosigners[logId][treeSize];
    }

    /// @inheritdoc IAccessCheckpoints
    function registry() external view returns (address) {
        return address(_registry);
    }

    // -------------------------------------------------------------- internal

    function _anchor(uint64 logId, uint64 treeSize, bytes32 rootHash, uint48 timestamp) internal {
        if (rootHash == 0) revert CheckpointZeroRoot();
        Log memory log = _logs[logId];
        if (treeSize <= log.latestSize) revert CheckpointSizeNotIncreasing(logId, treeSize, log.latestSize);
        if (timestamp < log.latestTimestamp) revert CheckpointTimestampBeforeLatest(timestamp, log.latestTimestamp);
        uint48 now_ = uint48(block.timestamp);
        if (timestamp > now_) revert CheckpointTimestampInFuture(timestamp, now_);
        _checkpoints[logId][log.count] = Stored(rootHash, treeSize, timestamp, now_);
        _logs[logId] = Log(log.count + 1, treeSize, timestamp);
        emit CheckpointAnchored(logId, treeSize, rootHash, timestamp, msg.sender);
    }

    function _cosign(uint64 logId, uint64 treeSize, bytes32 rootHash, uint64 witnessId) internal {
        if (witnessId == logId) revert CheckpointOwnLog(logId);
        bytes32 anchored = _checkpoints[logId][_find(logId, treeSize)].rootHash;
        if (rootHash != anchored) revert CheckpointRootMismatch(logId, treeSize, rootHash, anchored);
        if (_cosigned[logId][treeSize][witnessId]) revert CheckpointAlreadyCosigned(logId, treeSize, witnessId);
        _cosigned[logId][treeSize][witnessId] = true;
        _cosigners[logId][treeSize].push(witnessId);
        emit CheckpointCosigned(logId, treeSize, rootHash, witnessId, msg.sender);
    }

    /// @dev The position of the first checkpoint whose size is above `index` (the length if none).
    function _firstAbove(uint64 logId, uint64 index) internal view returns (uint256 lo) {
        uint256 hi = _logs[logId].count;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (_checkpoints[logId][mid].treeSize > index) hi = mid;
            else lo = mid + 1;
        }
    }

    /// @dev The position of the checkpoint of exactly `treeSize`; reverts {CheckpointUnknown}.
    function _find(uint64 logId, uint64 treeSize) internal view returns (uint256 i) {
        if (treeSize == 0) revert CheckpointUnknown(logId, 0);
        i = _firstAbove(logId, treeSize - 1);
        if (i == _logs[logId].count || _checkpoints[logId][i].treeSize != treeSize) {
            revert CheckpointUnknown(logId, treeSize);
        }
    }

    function _view(uint64 logId, uint256 i) internal view returns (Checkpoint memory) {
        Stored storage s = _checkpoints[logId][i];
        return Checkpoint(
            s.treeSize, s.rootHash, s.timestamp, s.anchoredAt, uint32(_cosigners[logId][s.treeSize].length)
        );
    }

    function _none() internal pure returns (Checkpoint memory) {
        return Checkpoint(0, bytes32(0), 0, 0, 0);
    }

    /// @dev The caller's member id if the caller is an active account of a member with `role`.
    function _requireRole(IMembershipRegistry.Role role) internal view returns (uint64) {
        (uint64 memberId,, uint16 roles, bool active) = _registry.accountInfo(msg.sender);
        if (!active || roles & (uint16(1) << uint8(role)) == 0) revert CheckpointMissingRole(msg.sender, role);
        return memberId;
    }
}
