// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title StockVotesToken
/// @notice Benchmark reference only (bench/gas.py): the OpenZeppelin Wizard's votes token,
/// one vote per council seat, so a stock Governor can be measured beside our registry.
contract StockVotesToken is ERC20, ERC20Permit, ERC20Votes {
    constructor(address[] memory holders) ERC20("Council Votes", "CVT") ERC20Permit("Council Votes") {
        for (uint256 i = 0; i < holders.length; ++i) {
            _mint(holders[i], 1);
        }
    }

    function decimals() public pure override returns (uint8) {
        return 0;
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
