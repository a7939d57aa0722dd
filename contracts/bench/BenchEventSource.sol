// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IDataSharing} from "../data/IDataSharing.sol";

/// @title BenchEventSource
/// @notice Benchmark only (bench/indexing.py, bench/reads.py): emits DataSharing's own
/// `AccessRecorded` and `AccessRefused` events in bulk, so an index of 100,000 real-shaped
/// events exists in seconds. Indexed under the DataSharing ABI they decode exactly as the
/// contract's. Never part of a deployment.
contract BenchEventSource {
    uint64 private _seq;

    /// @notice Emit `count` events: every `refusalEvery`-th one a refusal (0: none).
    function emitAccesses(uint256 grants, uint256 count, uint256 refusalEvery) external {
        uint64 seq = _seq;
        for (uint256 i = 0; i < count; ++i) {
            ++seq;
            uint256 grantId = 1 + (seq % grants);
            uint256 datasetId = 1 + (grantId % 7);
            uint64 memberId = uint64(4 + (grantId % 9));
            bytes32 queryHash = keccak256(abi.encode(seq));
            if (refusalEvery != 0 && seq % refusalEvery == 0) {
                emit IDataSharing.AccessRefused(datasetId, grantId, memberId, IDataSharing.RefusalReason.GrantExpired, queryHash, seq, 1);
            } else {
                emit IDataSharing.AccessRecorded(grantId, datasetId, memberId, seq, queryHash, uint64(seq % 500), uint48(block.timestamp), 1);
            }
        }
        _seq = seq;
    }
}
