// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {CoGovFund} from "../fund/CoGovFund.sol";

/// @title QuorumFirstFund (TEST ONLY: deliberately broken, never deploy outside tests)
/// @notice CoGovFund deciding a motion by its first `quorum` votes (approvals > rejections),
/// whatever the committee members who have not voted could still do: the rule CoGovFund had
/// before issue 14. Everything else is unchanged, so the auditor's replay must catch the early
/// decision (and a payout on a project it approved) from the events alone.
contract QuorumFirstFund is CoGovFund {
    constructor(IMembershipRegistry registry_, IERC20 token_, uint256 quorum_, uint48 timeLock_, uint48 votingPeriod_)
        CoGovFund(registry_, token_, quorum_, timeLock_, votingPeriod_)
    {}

    /// @dev The weakness: quorum alone decides.
    function _earlyOutcome(uint256 approvals, uint256 rejections, uint256)
        internal
        pure
        override
        returns (bool decided, bool passed)
    {
        return (true, approvals > rejections);
    }
}
