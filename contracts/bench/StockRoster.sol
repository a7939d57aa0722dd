// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title StockRoster
/// @notice Benchmark reference only (bench/gas.py): a member roster gated by OpenZeppelin
/// AccessControl, administered by a TimelockController that a Governor drives. Admission
/// stores what our registry stores for a member (name, kind, roles, account) and grants
/// the account a role.
contract StockRoster is AccessControl {
    bytes32 public constant MEMBER_ROLE = keccak256("MEMBER_ROLE");

    struct Member {
        string name;
        uint8 kind;
        uint16 roles;
        address account;
    }

    uint64 private _count;
    mapping(uint64 memberId => Member) private _members;
    mapping(address account => uint64 memberId) private _memberOf;

    event MemberAdmitted(uint64 indexed memberId, string name, uint8 kind, uint16 roles, address account);

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function admit(string calldata name, uint8 kind, uint16 roles, address account)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint64 memberId)
    {
        memberId = ++_count;
        _members[memberId] = Member(name, kind, roles, account);
        _memberOf[account] = memberId;
        _grantRole(MEMBER_ROLE, account);
        emit MemberAdmitted(memberId, name, kind, roles, account);
    }

    function memberOf(address account) external view returns (uint64) {
        return _memberOf[account];
    }
}
