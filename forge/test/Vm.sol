// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice The few forge cheatcodes the invariant tests use (forge-std is not a dependency).
/// Signatures as in forge's cheatcode interface; the address is forge's fixed cheatcode address.
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertData) external;
    function assume(bool condition) external pure;
    function label(address account, string calldata newLabel) external;
}

/// @notice The cheatcode handle and the targeting hooks forge's invariant runner calls on a
/// test contract (`targetContracts()`), as forge-std's StdInvariant declares them.
abstract contract InvariantBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address[] private _targets;

    function targetContract(address target) internal {
        _targets.push(target);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }
}

/// @notice Fixed actor addresses shared by the handlers.
library Actors {
    function at(uint256 i) internal pure returns (address) {
        return address(uint160(0xC0A0000 + i));
    }
}
