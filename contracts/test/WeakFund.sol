// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {CoGovFund} from "../fund/CoGovFund.sol";

/// @title WeakFund (TEST ONLY: deliberately broken, never deploy outside tests)
/// @notice CoGovFund with the payout gate removed: the treasurer can pay a project that no
/// committee quorum approved and whose time lock never ran. Everything else (events, the
/// milestone and available-money bounds) is unchanged, so the auditor's replay must catch
/// the missing quorum from the events alone.
contract WeakFund is CoGovFund {
    constructor(IMembershipRegistry registry_, IERC20 token_, uint256 quorum_, uint48 timeLock_, uint48 votingPeriod_)
        CoGovFund(registry_, token_, quorum_, timeLock_, votingPeriod_)
    {}

    /// @dev The weakness: no approval, no time lock, any (even closed) project is payable.
    function _checkPayable(uint256) internal view override {}
}
