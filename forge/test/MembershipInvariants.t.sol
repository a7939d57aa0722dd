// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../../contracts/membership/IMembershipRegistry.sol";
import {MembershipRegistry} from "../../contracts/membership/MembershipRegistry.sol";
import {Actors, InvariantBase, Vm} from "./Vm.sol";

/// @notice Drives the registry with random proposals, approvals, executions, cancellations
/// and time, from council members (mostly) and from anyone else, and records in ghost
/// counters every way the invariants could be broken.
contract MembershipHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant ACTORS = 12;

    MembershipRegistry public immutable reg;

    /// A call other than a successful `execute` changed who is inside or with which powers.
    uint256 public changesWithoutExecute;
    /// A successful `execute` whose proposal lacked `threshold` approvals of current council members.
    uint256 public executedBelowThreshold;
    uint256 public executions;
    uint256 public changesApplied;

    constructor(MembershipRegistry reg_) {
        reg = reg_;
    }

    // ------------------------------------------------------------------ actions

    function propose(uint256 actorSeed, uint8 kindSeed, uint256 argSeed) external {
        IMembershipRegistry.ChangeKind kind = IMembershipRegistry.ChangeKind(kindSeed % 11);
        bytes memory data = _payload(kind, argSeed);
        _call(_actor(actorSeed), abi.encodeCall(IMembershipRegistry.propose, (kind, data)), false);
    }

    function approve(uint256 actorSeed, uint256 proposalSeed) external {
        uint256 id = _proposal(proposalSeed);
        if (id == 0) return;
        _call(_actor(actorSeed), abi.encodeCall(IMembershipRegistry.approve, (id)), false);
    }

    /// Every current council member approves the proposal in turn (each through the checked
    /// call), so that proposals reach the threshold often enough to be executed.
    function rally(uint256 proposalSeed) external {
        uint256 id = _proposal(proposalSeed);
        if (id == 0) return;
        uint64[] memory council = reg.membersWithRole(IMembershipRegistry.Role.Council);
        for (uint256 i = 0; i < council.length; i++) {
            address account = reg.getMember(council[i]).accounts[0];
            _call(account, abi.encodeCall(IMembershipRegistry.approve, (id)), false);
        }
    }

    function execute(uint256 actorSeed, uint256 proposalSeed) external {
        uint256 id = _proposal(proposalSeed);
        if (id == 0) return;
        _call(_actor(actorSeed), abi.encodeCall(IMembershipRegistry.execute, (id)), true);
    }

    function cancel(uint256 actorSeed, uint256 proposalSeed) external {
        uint256 id = _proposal(proposalSeed);
        if (id == 0) return;
        _call(_actor(actorSeed), abi.encodeCall(IMembershipRegistry.cancel, (id)), false);
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % 8 hours);
    }

    // ------------------------------------------------------------------ the check around every call

    function _call(address actor, bytes memory callData, bool isExecute) private {
        bytes32 before = snapshot();
        uint256 councilApprovals;
        uint256 threshold = reg.threshold();
        if (isExecute) {
            (, uint256 id) = abi.decode(_slice4(callData), (bytes32, uint256));
            councilApprovals = _currentCouncilApprovals(id);
        }
        vm.prank(actor);
        (bool ok,) = address(reg).call(callData);
        bytes32 afterCall = snapshot();
        if (isExecute && ok) {
            executions++;
            if (councilApprovals < threshold) executedBelowThreshold++;
            if (afterCall != before) changesApplied++;
        } else if (afterCall != before) {
            changesWithoutExecute++;
        }
    }

    /// Distinct approvers of the proposal that are active council members now, counted here
    /// from the member records rather than trusted from {approvalCount}.
    function _currentCouncilApprovals(uint256 id) private view returns (uint256 n) {
        uint64[] memory approvers = reg.getProposal(id).approvers;
        for (uint256 i = 0; i < approvers.length; i++) {
            bool dup;
            for (uint256 j = 0; j < i; j++) {
                if (approvers[j] == approvers[i]) dup = true;
            }
            IMembershipRegistry.MemberView memory m = reg.getMember(approvers[i]);
            if (!dup && m.active && m.roles & 1 != 0) n++;
        }
    }

    /// Everything a membership change can touch: members (roles, active, key, accounts,
    /// nodes), threshold, council size and proposal lifetime.
    function snapshot() public view returns (bytes32 h) {
        h = keccak256(abi.encode(reg.threshold(), reg.councilSize(), reg.proposalLifetime(), reg.memberCount()));
        for (uint64 id = 1; id <= reg.memberCount(); id++) {
            h = keccak256(abi.encode(h, reg.getMember(id)));
        }
    }

    // ------------------------------------------------------------------ inputs

    function _actor(uint256 seed) private view returns (address) {
        // Three calls in four come from a current council member's first account.
        if (seed % 4 != 0) {
            uint64[] memory council = reg.membersWithRole(IMembershipRegistry.Role.Council);
            if (council.length > 0) {
                address[] memory accounts = reg.getMember(council[(seed >> 8) % council.length]).accounts;
                return accounts[(seed >> 16) % accounts.length];
            }
        }
        return Actors.at(1 + (seed >> 8) % ACTORS);
    }

    function _proposal(uint256 seed) private view returns (uint256) {
        uint256 count = reg.proposalCount();
        if (count == 0) return 0;
        uint256 window = count < 4 ? count : 4;
        return count - seed % window; // mostly the latest few, so approvals accumulate
    }

    function _member(uint256 seed) private view returns (uint64) {
        return uint64(1 + seed % (uint256(reg.memberCount()) + 1)); // sometimes one past the end
    }

    function _payload(IMembershipRegistry.ChangeKind kind, uint256 s) private view returns (bytes memory) {
        address account = Actors.at(1 + (s >> 32) % ACTORS);
        if (kind == IMembershipRegistry.ChangeKind.AdmitMember) {
            return abi.encode("member", uint8(s % 4), uint16((s >> 8) % 1024), account);
        }
        if (kind == IMembershipRegistry.ChangeKind.RemoveMember) return abi.encode(_member(s));
        if (kind == IMembershipRegistry.ChangeKind.GrantRole || kind == IMembershipRegistry.ChangeKind.RevokeRole) {
            return abi.encode(_member(s), uint8((s >> 8) % 10));
        }
        if (kind == IMembershipRegistry.ChangeKind.AddAccount || kind == IMembershipRegistry.ChangeKind.RemoveAccount) {
            return abi.encode(_member(s), account);
        }
        if (kind == IMembershipRegistry.ChangeKind.SetDataKey) return abi.encode(_member(s), keccak256(abi.encode(s)));
        if (kind == IMembershipRegistry.ChangeKind.AddNode || kind == IMembershipRegistry.ChangeKind.RemoveNode) {
            string memory enode = (s >> 8) % 2 == 0
                ? "0000000000000000000000000000000000000000000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                : "1111111111111111111111111111111111111111111111111111111111111111bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
            return abi.encode(_member(s), enode, "10.0.0.1", uint16(30303));
        }
        if (kind == IMembershipRegistry.ChangeKind.SetThreshold) return abi.encode(s % 7);
        return abi.encode(uint48(s % 3 days));
    }

    function _slice4(bytes memory callData) private pure returns (bytes memory out) {
        // The selector padded to a word, so abi.decode(out, (bytes32, uint256)) reads the first argument.
        out = new bytes(64);
        for (uint256 i = 0; i < 4; i++) {
            out[i] = callData[i];
        }
        for (uint256 i = 0; i < 32; i++) {
            out[32 + i] = callData[4 + i];
        }
    }
}

/// @notice Invariants of the membership registry: no membership change without the council
/// threshold, and one member per account.
contract MembershipInvariantsTest is InvariantBase {
    MembershipRegistry internal reg;
    MembershipHandler internal handler;

    function setUp() public {
        IMembershipRegistry.Seat[] memory seats = new IMembershipRegistry.Seat[](5);
        for (uint256 i = 0; i < 5; i++) {
            seats[i] = IMembershipRegistry.Seat(
                "council", IMembershipRegistry.MemberKind.Department, uint16(1 << 1), Actors.at(1 + i)
            );
        }
        reg = new MembershipRegistry(seats, 3, 1 days);
        handler = new MembershipHandler(reg);
        targetContract(address(handler));
    }

    /// @dev No call but a successful `execute` changes membership, and every successful
    /// `execute` had at least `threshold` approvals of members who were on the council.
    function invariant_noChangeWithoutThreshold() public view {
        assert(handler.changesWithoutExecute() == 0);
        assert(handler.executedBelowThreshold() == 0);
    }

    /// @dev An account belongs to at most one member; the council counters stay consistent.
    function invariant_accountsExclusiveAndCouncilConsistent() public view {
        uint64 count = reg.memberCount();
        uint256 council;
        for (uint64 id = 1; id <= count; id++) {
            IMembershipRegistry.MemberView memory m = reg.getMember(id);
            if (m.active && m.roles & 1 != 0) council++;
            if (m.active) assert(m.accounts.length >= 1);
            for (uint256 i = 0; i < m.accounts.length; i++) {
                assert(reg.memberIdOf(m.accounts[i]) == id);
                for (uint256 j = 0; j < i; j++) {
                    assert(m.accounts[j] != m.accounts[i]);
                }
            }
        }
        assert(council == reg.councilSize());
        assert(reg.threshold() >= 1 && reg.threshold() <= reg.councilSize());
    }
}

