// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title StockAccessLog
/// @notice Benchmark reference only (bench/gas.py): the access record a team would write with
/// stock parts, an OpenZeppelin AccessControl role per recorder and the record kept in storage
/// (grant, query hash, rows, time) with an event.
contract StockAccessLog is AccessControl {
    bytes32 public constant RECORDER_ROLE = keccak256("RECORDER_ROLE");

    struct Access {
        uint256 grantId;
        bytes32 queryHash;
        uint64 rowCount;
        uint48 at;
    }

    Access[] private _accesses;

    event AccessRecorded(uint256 indexed grantId, uint256 indexed seq, bytes32 queryHash, uint64 rowCount, uint48 at);

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function recordAccess(uint256 grantId, bytes32 queryHash, uint64 rowCount)
        external
        onlyRole(RECORDER_ROLE)
        returns (uint256 seq)
    {
        _accesses.push(Access(grantId, queryHash, rowCount, uint48(block.timestamp)));
        seq = _accesses.length;
        emit AccessRecorded(grantId, seq, queryHash, rowCount, uint48(block.timestamp));
    }

    function accessCount() external view returns (uint256) {
        return _accesses.length;
    }
}
