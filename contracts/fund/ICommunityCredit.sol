// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Community credit: the fund's development settlement token
/// @notice An ERC-20 with 2 decimals (1 unit = 0.01 CNY, one 分) that exists only against
/// fiat held by the treasury: the Treasurer role (membership registry) mints against a
/// recorded fiat deposit and burns on redemption. Each deposit and redemption reference is
/// recorded by its hash and can be used once, so the same bank slip cannot mint twice.
/// Transfers are ordinary ERC-20 transfers.
interface ICommunityCredit is IERC20 {
    /// @notice The caller's account is not an active account of a member with the Treasurer role.
    error CreditNotTreasurer(address account);
    /// @notice Amounts must be positive.
    error CreditZeroAmount();
    /// @notice A deposit or redemption reference hash must not be zero.
    error CreditZeroReference();
    /// @notice This deposit reference was minted against already.
    error CreditDepositAlreadyRecorded(bytes32 depositRef);
    /// @notice This redemption reference was burned against already.
    error CreditRedemptionAlreadyRecorded(bytes32 redemptionRef);

    /// @notice `amount` credits were minted to `to` against the fiat deposit `depositRef`.
    event CreditMinted(address indexed to, uint256 amount, bytes32 indexed depositRef, uint64 indexed treasurerId);
    /// @notice `amount` credits of `holder` were burned, redeemed under `redemptionRef`.
    event CreditBurned(
        address indexed holder, uint256 amount, bytes32 indexed redemptionRef, uint64 indexed treasurerId
    );

    /// @notice Mint `amount` to `to` against a fiat deposit. Treasurer only.
    /// @param depositRef keccak256 of the deposit's bank reference (never reused).
    function mint(address to, uint256 amount, bytes32 depositRef) external;

    /// @notice Burn `amount` of `holder`'s credits on redemption for fiat. Treasurer only.
    /// @dev Unless the treasurer burns its own credits, `holder` must have approved the
    /// calling treasurer account for at least `amount` (the holder consents to redeem).
    /// @param redemptionRef keccak256 of the fiat payout's reference (never reused).
    function burn(address holder, uint256 amount, bytes32 redemptionRef) external;

    /// @notice The membership registry that says who the treasurer is.
    function registry() external view returns (address);
    /// @notice True once a mint recorded this deposit reference.
    function depositRecorded(bytes32 depositRef) external view returns (bool);
    /// @notice True once a burn recorded this redemption reference.
    function redemptionRecorded(bytes32 redemptionRef) external view returns (bool);
    /// @notice Everything ever minted (totalSupply + totalBurned).
    function totalMinted() external view returns (uint256);
    /// @notice Everything ever burned.
    function totalBurned() external view returns (uint256);
}
