// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {ICommunityCredit} from "./ICommunityCredit.sol";

/// @title CommunityCredit
/// @notice Permissioned-issuance ERC-20 for the co-governance fund (development and demo).
contract CommunityCredit is ERC20, ICommunityCredit {
    IMembershipRegistry private immutable _registry;

    mapping(bytes32 depositRef => bool) private _deposits;
    mapping(bytes32 redemptionRef => bool) private _redemptions;
    uint256 private _totalMinted;
    uint256 private _totalBurned;

    constructor(IMembershipRegistry registry_, string memory name_, string memory symbol_) ERC20(name_, symbol_) {
        _registry = registry_;
    }

    /// @notice 2 decimals: one unit is one 分 (0.01 CNY).
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @inheritdoc ICommunityCredit
    function mint(address to, uint256 amount, bytes32 depositRef) external {
        uint64 treasurerId = _requireTreasurer();
        _mintAgainst(to, amount, depositRef, treasurerId);
    }

    /// @inheritdoc ICommunityCredit
    function burn(address holder, uint256 amount, bytes32 redemptionRef) external {
        uint64 treasurerId = _requireTreasurer();
        _burnAgainst(holder, amount, redemptionRef, treasurerId);
    }

    /// @inheritdoc ICommunityCredit
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ICommunityCredit
    function depositRecorded(bytes32 depositRef) external view returns (bool) {
        return _deposits[depositRef];
    }

    /// @inheritdoc ICommunityCredit
    function redemptionRecorded(bytes32 redemptionRef) external view returns (bool) {
        return _redemptions[redemptionRef];
    }

    /// @inheritdoc ICommunityCredit
    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    /// @inheritdoc ICommunityCredit
    function totalBurned() external view returns (uint256) {
        return _totalBurned;
    }

    function _requireTreasurer() private view returns (uint64 memberId) {
        if (!_registry.hasRole(msg.sender, IMembershipRegistry.Role.Treasurer)) revert CreditNotTreasurer(msg.sender);
        memberId = _registry.memberIdOf(msg.sender);
    }

    function _mintAgainst(address to, uint256 amount, bytes32 depositRef, uint64 treasurerId) private {
        if (amount == 0) revert CreditZeroAmount();
        if (depositRef == bytes32(0)) revert CreditZeroReference();
        if (_deposits[depositRef]) revert CreditDepositAlreadyRecorded(depositRef);
        _deposits[depositRef] = true;
        _totalMinted += amount;
        _mint(to, amount);
        emit CreditMinted(to, amount, depositRef, treasurerId);
    }

    function _burnAgainst(address holder, uint256 amount, bytes32 redemptionRef, uint64 treasurerId) private {
        if (amount == 0) revert CreditZeroAmount();
        if (redemptionRef == bytes32(0)) revert CreditZeroReference();
        if (_redemptions[redemptionRef]) revert CreditRedemptionAlreadyRecorded(redemptionRef);
        if (holder != msg.sender) _spendAllowance(holder, msg.sender, amount);
        _redemptions[redemptionRef] = true;
        _totalBurned += amount;
        _burn(holder, amount);
        emit CreditBurned(holder, amount, redemptionRef, treasurerId);
    }
}
