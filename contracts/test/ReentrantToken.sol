// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken (TEST ONLY: never deploy outside tests)
/// @notice A malicious ERC-20 whose transfer hook calls back into a target (the fund) once
/// it is armed, bubbling up whatever the target reverts with. Used to prove that every
/// token-moving entry point of the fund is guarded by ReentrancyGuard.
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _payload;
    bool private _armed;

    event Armed(address target, bytes payload);
    event Reentered(address target, bool ok);

    constructor() ERC20("Reentrant Test Token", "EVIL") {}

    /// @notice Anyone mints: this is a test token.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice On the next transfer (not mint/burn), call `target` with `payload`.
    function arm(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
        _armed = true;
        emit Armed(target, payload);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (_armed && from != address(0) && to != address(0)) {
            _armed = false;
            (bool ok, bytes memory ret) = _target.call(_payload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
            emit Reentered(_target, ok);
        }
    }
}
