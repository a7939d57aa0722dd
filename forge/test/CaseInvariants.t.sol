// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../../contracts/membership/IMembershipRegistry.sol";
import {MembershipRegistry} from "../../contracts/membership/MembershipRegistry.sol";
import {ICaseDesk} from "../../contracts/cases/ICaseDesk.sol";
import {CaseDesk} from "../../contracts/cases/CaseDesk.sol";
import {Actors, InvariantBase, Vm} from "./Vm.sol";

/// @notice Drives CaseDesk with random transitions by random actors (mostly the right one), and
/// time; around every call it compares the case before and after, and counts every way the
/// invariants could be broken.
/// Members: id i has account Actors.at(i): 1-2 sub-districts, 3-6 departments, 7 the district,
/// 8 a channel; Actors.at(9) is no member.
contract CaseHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant ACTORS = 9;

    CaseDesk public immutable desk;

    /// A case became closed other than by its raiser's evaluation (Fixed or NotFixed).
    uint256 public closedWithoutRaiser;
    /// A successful acknowledgement by a member not on the case's team before the call.
    uint256 public unnamedAcknowledgements;
    /// A state change no transition of the call's function allows.
    uint256 public illegalTransitions;
    /// A call that failed but changed the case, or touched another case.
    uint256 public sideEffects;
    uint256 public closings;
    uint256 public acknowledgements;

    /// The ghost: the last closing of each closed case was its raiser's evaluation.
    mapping(uint256 caseId => bool) public closedByRaiser;

    enum Fn {
        Raise,
        Acknowledge,
        Answer,
        SendBack,
        Redispatch,
        Escalate,
        Evaluate,
        Satisfaction
    }

    constructor(CaseDesk desk_) {
        desk = desk_;
    }

    // ------------------------------------------------------------------ actions

    function raise(uint256 actorSeed, uint256 seed) external {
        address actor = actorSeed % 4 == 0 ? _any(actorSeed >> 8) : Actors.at(1 + (actorSeed >> 8) % 2);
        (uint64 lead, uint64[] memory assisting) = _team(seed);
        vm.prank(actor);
        try desk.raiseCase(uint16(1 + seed % 3), 1, bytes32("d"), new bytes32[](0), 0, lead, assisting) returns (
            uint256 id
        ) {
            if (desk.caseState(id) != ICaseDesk.CaseState.Dispatched) illegalTransitions++;
        } catch {}
    }

    function acknowledge(uint256 actorSeed, uint256 caseSeed) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        address actor = _teamOr(actorSeed, id);
        bool named = _named(id, uint64(uint160(actor) - uint160(Actors.at(0))));
        bool ok = _call(Fn.Acknowledge, id, actor, abi.encodeCall(ICaseDesk.acknowledge, (id)), 0);
        if (ok) {
            acknowledgements++;
            if (!named) unnamedAcknowledgements++;
        }
    }

    function answer(uint256 actorSeed, uint256 caseSeed) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        _call(Fn.Answer, id, _teamOr(actorSeed, id), abi.encodeCall(ICaseDesk.answer, (id, bytes32("e"))), 0);
    }

    function sendBack(uint256 actorSeed, uint256 caseSeed, uint256 responsibleSeed) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        uint64 responsible = uint64(responsibleSeed % 10); // 0: no owner; 9: no member
        _call(Fn.SendBack, id, _teamOr(actorSeed, id), abi.encodeCall(ICaseDesk.sendBack, (id, 1, responsible)), 0);
    }

    function redispatch(uint256 actorSeed, uint256 caseSeed, uint256 seed) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        address actor = actorSeed % 4 == 0 ? _any(actorSeed >> 8)
            : desk.caseState(id) == ICaseDesk.CaseState.Escalated ? Actors.at(7) : _raiser(id);
        (uint64 lead, uint64[] memory assisting) = _team(seed);
        if (actor == Actors.at(7) && seed % 5 == 0) lead = 7; // the district takes it
        _call(
            Fn.Redispatch,
            id,
            actor,
            abi.encodeCall(ICaseDesk.redispatch, (id, uint16(1 + seed % 3), lead, assisting)),
            0
        );
    }

    function escalate(uint256 actorSeed, uint256 caseSeed) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        address actor = actorSeed % 2 == 0 ? _raiser(id) : _any(actorSeed >> 8);
        _call(Fn.Escalate, id, actor, abi.encodeCall(ICaseDesk.escalate, (id)), 0);
    }

    function evaluate(uint256 actorSeed, uint256 caseSeed, uint8 outcome) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        address actor = actorSeed % 4 == 0 ? _any(actorSeed >> 8) : _raiser(id);
        ICaseDesk.Evaluation e = ICaseDesk.Evaluation(outcome % 3);
        _call(Fn.Evaluate, id, actor, abi.encodeCall(ICaseDesk.evaluate, (id, e, 0)), uint8(e));
    }

    function satisfaction(uint256 actorSeed, uint256 caseSeed, uint8 level) external {
        uint256 id = _case(caseSeed);
        if (id == 0) return;
        address actor = actorSeed % 4 == 0 ? _any(actorSeed >> 8) : Actors.at(8);
        ICaseDesk.Satisfaction s = ICaseDesk.Satisfaction(level % 3);
        _call(Fn.Satisfaction, id, actor, abi.encodeCall(ICaseDesk.recordSatisfaction, (id, s)), 0);
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % 3 hours);
    }

    // ------------------------------------------------------------------ the check around every call

    function _call(Fn fn, uint256 id, address actor, bytes memory callData, uint8 outcome) private returns (bool ok) {
        ICaseDesk.CaseView memory before = desk.getCase(id);
        bytes32 others = _others(id);
        uint64 actorId = uint64(uint160(actor) - uint160(Actors.at(0)));
        vm.prank(actor);
        (ok,) = address(desk).call(callData);
        ICaseDesk.CaseView memory afterCall = desk.getCase(id);
        if (_others(id) != others) sideEffects++;
        if (!ok) {
            if (keccak256(abi.encode(afterCall)) != keccak256(abi.encode(before))) sideEffects++;
            return ok;
        }
        ICaseDesk.CaseState a = before.state;
        ICaseDesk.CaseState b = afterCall.state;
        if (!_allowed(fn, a, b, outcome)) illegalTransitions++;
        bool wasClosed = _closed(a);
        if (_closed(b) && !wasClosed) {
            closings++;
            bool byRaiser = fn == Fn.Evaluate && actorId == before.raiserId
                && outcome != uint8(ICaseDesk.Evaluation.Rejected);
            closedByRaiser[id] = byRaiser;
            if (!byRaiser) closedWithoutRaiser++;
        }
    }

    /// The transitions of {ICaseDesk}, by function: (state before, state after).
    function _allowed(Fn fn, ICaseDesk.CaseState a, ICaseDesk.CaseState b, uint8 outcome) private pure returns (bool) {
        ICaseDesk.CaseState D = ICaseDesk.CaseState.Dispatched;
        ICaseDesk.CaseState K = ICaseDesk.CaseState.Acknowledged;
        ICaseDesk.CaseState W = ICaseDesk.CaseState.AwaitingEvaluation;
        ICaseDesk.CaseState B = ICaseDesk.CaseState.SentBack;
        ICaseDesk.CaseState E = ICaseDesk.CaseState.Escalated;
        ICaseDesk.CaseState R = ICaseDesk.CaseState.Reopened;
        if (fn == Fn.Acknowledge) return a == b || (a == D && b == K);
        if (fn == Fn.Answer) return a == b || ((a == K || a == R) && b == W);
        if (fn == Fn.SendBack) return (a == D || a == K || a == R) && (b == B || b == E);
        if (fn == Fn.Redispatch) return (a == B || a == E) && b == D;
        if (fn == Fn.Escalate) return (a == D || a == K || a == B || a == R) && b == E;
        if (fn == Fn.Evaluate) {
            if (a != W) return false;
            if (outcome == uint8(ICaseDesk.Evaluation.Fixed)) return b == ICaseDesk.CaseState.ClosedFixed;
            if (outcome == uint8(ICaseDesk.Evaluation.NotFixed)) return b == ICaseDesk.CaseState.ClosedNotFixed;
            return b == R;
        }
        if (fn == Fn.Satisfaction) return _closed(a) && (b == a || b == R);
        return false;
    }

    /// Every other case's view, hashed: a call changes only its own case.
    function _others(uint256 id) private view returns (bytes32 h) {
        uint256 n = desk.caseCount();
        for (uint256 i = 1; i <= n; i++) {
            if (i != id) h = keccak256(abi.encode(h, desk.getCase(i)));
        }
    }

    // ------------------------------------------------------------------ inputs

    function _closed(ICaseDesk.CaseState s) private pure returns (bool) {
        return s == ICaseDesk.CaseState.ClosedFixed || s == ICaseDesk.CaseState.ClosedNotFixed;
    }

    function _named(uint256 id, uint64 memberId) private view returns (bool) {
        uint64[] memory t = desk.team(id);
        for (uint256 i = 0; i < t.length; i++) {
            if (t[i] == memberId) return true;
        }
        return false;
    }

    function _any(uint256 seed) private pure returns (address) {
        return Actors.at(1 + seed % ACTORS);
    }

    function _raiser(uint256 id) private view returns (address) {
        return Actors.at(desk.getCase(id).raiserId);
    }

    /// Mostly a member of the case's team.
    function _teamOr(uint256 seed, uint256 id) private view returns (address) {
        uint64[] memory t = desk.team(id);
        if (seed % 4 == 0 || t.length == 0) return _any(seed >> 8);
        return Actors.at(t[(seed >> 8) % t.length]);
    }

    /// A lead and 0-2 assisting departments among members 3-6 (sometimes a non-department, or twice).
    function _team(uint256 seed) private pure returns (uint64 lead, uint64[] memory assisting) {
        lead = uint64(3 + seed % 4);
        if (seed % 11 == 0) lead = uint64(1 + (seed >> 4) % 9);
        assisting = new uint64[]((seed >> 8) % 3);
        for (uint256 i = 0; i < assisting.length; i++) {
            assisting[i] = uint64(3 + (seed >> (16 + 8 * i)) % 4);
        }
    }

    function _case(uint256 seed) private view returns (uint256) {
        uint256 count = desk.caseCount();
        if (count == 0) return 0;
        uint256 window = count < 4 ? count : 4;
        return count - seed % window; // mostly the latest few, so they travel far
    }
}

/// @notice Invariants of the case desk: a case is in exactly one state and moves only by the
/// transitions of its interface; a closed case was closed by its raiser's evaluation; no
/// acknowledgement by a member not named in the case's current dispatch.
contract CaseInvariantsTest is InvariantBase {
    MembershipRegistry internal reg;
    CaseDesk internal desk;
    CaseHandler internal handler;

    function setUp() public {
        IMembershipRegistry.Role[8] memory roles = [
            IMembershipRegistry.Role.SubDistrict,
            IMembershipRegistry.Role.SubDistrict,
            IMembershipRegistry.Role.Department,
            IMembershipRegistry.Role.Department,
            IMembershipRegistry.Role.Department,
            IMembershipRegistry.Role.Department,
            IMembershipRegistry.Role.District,
            IMembershipRegistry.Role.Channel
        ];
        IMembershipRegistry.Seat[] memory seats = new IMembershipRegistry.Seat[](8);
        for (uint256 i = 0; i < 8; i++) {
            seats[i] = IMembershipRegistry.Seat(
                "member", IMembershipRegistry.MemberKind.Department, uint16(1 << uint8(roles[i])), Actors.at(1 + i)
            );
        }
        reg = new MembershipRegistry(seats, 1, 1 days);
        ICaseDesk.CategorySpec[] memory levels = new ICaseDesk.CategorySpec[](3);
        levels[0] = ICaseDesk.CategorySpec(1, 30 minutes, 2 hours);
        levels[1] = ICaseDesk.CategorySpec(2, 2 hours, 24 hours);
        levels[2] = ICaseDesk.CategorySpec(3, 24 hours, 7 days);
        desk = new CaseDesk(reg, 7 days, levels);
        handler = new CaseHandler(desk);
        targetContract(address(handler));
    }

    /// @dev Exactly one state: the view's derived fields agree with the stored state.
    function invariant_exactlyOneState() public view {
        uint256 n = desk.caseCount();
        for (uint256 id = 1; id <= n; id++) {
            ICaseDesk.CaseView memory c = desk.getCase(id);
            ICaseDesk.CaseState s = c.state;
            bool closed = s == ICaseDesk.CaseState.ClosedFixed || s == ICaseDesk.CaseState.ClosedNotFixed;
            assert(uint8(s) <= uint8(ICaseDesk.CaseState.ClosedNotFixed));
            assert(desk.caseState(id) == s);
            assert((c.closedAt != 0) == closed);
            assert(c.satisfaction == 0 || closed);
            if (closed || s == ICaseDesk.CaseState.Escalated || s == ICaseDesk.CaseState.AwaitingEvaluation) {
                assert(!c.overdue);
            }
            assert(c.round >= 1 && c.leadId == desk.team(id)[0]);
        }
        assert(handler.illegalTransitions() == 0);
        assert(handler.sideEffects() == 0);
    }

    /// @dev Every closed case was closed by its raiser's evaluation.
    function invariant_closedByRaiser() public view {
        assert(handler.closedWithoutRaiser() == 0);
        uint256 n = desk.caseCount();
        for (uint256 id = 1; id <= n; id++) {
            ICaseDesk.CaseState s = desk.caseState(id);
            if (s == ICaseDesk.CaseState.ClosedFixed || s == ICaseDesk.CaseState.ClosedNotFixed) {
                assert(handler.closedByRaiser(id));
            }
        }
    }

    /// @dev Only a member named in the case's current dispatch acknowledges.
    function invariant_noUnnamedAcknowledgement() public view {
        assert(handler.unnamedAcknowledgements() == 0);
    }
}
