// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IDataSharing} from "../data/IDataSharing.sol";

/// @title BenchAccessRelay
/// @notice Benchmark only (bench/audit_stream.py): many real `DataSharing.recordAccess` calls in
/// one transaction, so a chain of 1,000,000 access records is built in minutes. The council adds
/// this contract as an account of the dataset's owner (a membership `AddAccount` proposal), so
/// every call passes DataSharing's own checks and DataSharing emits its own `AccessRecorded`:
/// the auditor replays and judges them exactly as any other. Never part of a deployment.
contract BenchAccessRelay {
    IDataSharing private immutable _dataSharing;
    uint256 private _seq;

    constructor(IDataSharing dataSharing) {
        _dataSharing = dataSharing;
    }

    /// @notice Record `count` accesses under `grantId`, each with its own query hash.
    /// The numbers are taken before the calls (checks-effects-interactions); each call must
    /// answer an access number.
    function recordMany(uint256 grantId, uint256 count) external {
        uint256 first = _seq + 1;
        _seq += count;
        for (uint256 seq = first; seq < first + count; ++seq) {
            uint64 n = _dataSharing.recordAccess(grantId, keccak256(abi.encode(seq)), uint64(seq % 100), 1);
            require(n > 0, "no access recorded");
        }
    }
}
