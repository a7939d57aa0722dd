// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {ICaseDesk} from "./ICaseDesk.sol";
import {ServiceLevels} from "./ServiceLevels.sol";

/// @title CaseDesk
/// @notice 街乡吹哨,部门报到: cases raised by sub-districts, answered by named departments.
/// See {ICaseDesk} for the rules.
/// @dev A case is five slots: two of state, its description hash, and its team (the lead and up
/// to seven assisting departments, four member ids a slot) whose acknowledgements and answers are
/// bit masks by position beside the state. So a dispatch writes no slot per department, and a
/// re-dispatch rewrites the same slots. Reports' hashes are emitted, not stored. The external
/// functions authorise, then the internal `_doThing`s validate, write and emit.
contract CaseDesk is ServiceLevels {
    /// @inheritdoc ICaseDesk
    uint256 public constant MAX_ASSISTING = 7;
    uint256 private constant _TEAM = MAX_ASSISTING + 1;
    uint48 private constant _MIN_WINDOW = 1 hours;
    uint48 private constant _MAX_WINDOW = 365 days;

    struct Case {
        // slot 0: what every transition reads
        uint64 raiserId;
        uint64 channelId;
        uint48 ackDeadline;
        uint48 resolveDeadline;
        CaseState state;
        uint8 round; // dispatches so far (0: no such case)
        uint8 sendBacks;
        // slot 1: bit i of a mask is the team's position i (0: the lead)
        uint16 category;
        uint32 resolveSeconds;
        uint48 closedAt;
        uint64 areaCode;
        uint8 satisfaction; // 0: none since the last closing; else 1 + Satisfaction
        bool dissatisfactionReopened;
        uint8 acknowledged; // since the current dispatch
        uint8 late; // acknowledged after the acknowledge deadline
        uint8 answered; // since the current dispatch or the last reopening
        // slot 2
        bytes32 descriptionHash;
        // slots 3, 4: member ids, 0 past the last one
        uint64[_TEAM] team;
    }

    uint48 private immutable _satisfactionWindow;
    uint256 private _caseCount;
    mapping(uint256 caseId => Case) private _cases;

    /// @param registry_ The membership registry: roles, member ids, the council and its threshold.
    /// @param satisfactionWindow_ Seconds after a closing during which satisfaction may be recorded.
    /// @param categories The initial service levels (later changed by council proposals only).
    constructor(IMembershipRegistry registry_, uint48 satisfactionWindow_, CategorySpec[] memory categories)
        ServiceLevels(registry_, categories)
    {
        if (satisfactionWindow_ < _MIN_WINDOW || satisfactionWindow_ > _MAX_WINDOW) {
            revert CaseInvalidWindow(satisfactionWindow_);
        }
        _satisfactionWindow = satisfactionWindow_;
        emit CaseDeskDeployed(address(registry_), satisfactionWindow_);
    }

    // ------------------------------------------------------------------ writes

    /// @inheritdoc ICaseDesk
    function raiseCase(
        uint16 category,
        uint64 areaCode,
        bytes32 descriptionHash,
        bytes32[] calldata reportHashes,
        uint64 channelId,
        uint64 leadId,
        uint64[] calldata assistingIds
    ) external returns (uint256 caseId) {
        uint64 raiserId = _requireRole(IMembershipRegistry.Role.SubDistrict);
        if (descriptionHash == bytes32(0)) revert CaseZeroReference();
        if (areaCode == 0) revert CaseZeroArea();
        caseId = ++_caseCount;
        Case storage c = _cases[caseId];
        c.raiserId = raiserId;
        c.channelId = channelId;
        c.areaCode = areaCode;
        c.descriptionHash = descriptionHash;
        emit CaseRaised(caseId, raiserId, msg.sender, areaCode, descriptionHash, reportHashes, channelId);
        _dispatch(caseId, c, category, leadId, assistingIds, raiserId, false);
    }

    /// @inheritdoc ICaseDesk
    function acknowledge(uint256 caseId) external {
        (Case storage c, uint64 memberId, uint8 bit) = _requireNamed(caseId);
        _acknowledge(caseId, c, memberId, bit);
    }

    /// @inheritdoc ICaseDesk
    function answer(uint256 caseId, bytes32 evidenceHash) external {
        (Case storage c, uint64 memberId, uint8 bit) = _requireNamed(caseId);
        _answer(caseId, c, memberId, bit, evidenceHash);
    }

    /// @inheritdoc ICaseDesk
    function sendBack(uint256 caseId, uint16 reasonCode, uint64 responsibleId) external {
        (Case storage c, uint64 memberId,) = _requireNamed(caseId);
        _sendBack(caseId, c, memberId, reasonCode, responsibleId);
    }

    /// @inheritdoc ICaseDesk
    function redispatch(uint256 caseId, uint16 category, uint64 leadId, uint64[] calldata assistingIds) external {
        Case storage c = _case(caseId);
        CaseState s = c.state;
        (uint64 memberId, uint16 roles, bool active) = _caller();
        if (s == CaseState.SentBack) {
            if (!active || memberId != c.raiserId) revert CaseNotRaiser(caseId, msg.sender);
        } else if (s == CaseState.Escalated) {
            IMembershipRegistry.Role district = IMembershipRegistry.Role.District;
            if (!active || roles & _bit(district) == 0) revert CaseMissingRole(msg.sender, district);
        } else {
            revert CaseWrongState(caseId, s);
        }
        _dispatch(caseId, c, category, leadId, assistingIds, memberId, s == CaseState.Escalated);
    }

    /// @inheritdoc ICaseDesk
    function escalate(uint256 caseId) external {
        Case storage c = _case(caseId);
        (uint64 memberId,, bool active) = _caller();
        CaseState s = c.state;
        if (!_escalable(s)) revert CaseWrongState(caseId, s);
        EscalationCause cause = EscalationCause.Overdue;
        if (!_overdue(c)) {
            if (!active || memberId != c.raiserId) revert CaseNotOverdue(caseId, c.ackDeadline, c.resolveDeadline);
            cause = EscalationCause.ByRaiser;
        }
        _escalate(caseId, c, cause, memberId);
    }

    /// @inheritdoc ICaseDesk
    function evaluate(uint256 caseId, Evaluation outcome, uint16 reasonCode) external {
        Case storage c = _case(caseId);
        (uint64 memberId,, bool active) = _caller();
        if (!active || memberId != c.raiserId) revert CaseNotRaiser(caseId, msg.sender);
        _evaluate(caseId, c, memberId, outcome, reasonCode);
    }

    /// @inheritdoc ICaseDesk
    function recordSatisfaction(uint256 caseId, Satisfaction level) external {
        Case storage c = _case(caseId);
        uint64 memberId = _requireRole(IMembershipRegistry.Role.Channel);
        uint64 channelId = c.channelId;
        if (channelId != 0 && channelId != memberId) revert CaseNotChannel(caseId, msg.sender);
        _recordSatisfaction(caseId, c, memberId, level);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc ICaseDesk
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ICaseDesk
    function satisfactionWindow() external view returns (uint48) {
        return _satisfactionWindow;
    }

    /// @inheritdoc ICaseDesk
    function caseCount() external view returns (uint256) {
        return _caseCount;
    }

    /// @inheritdoc ICaseDesk
    function caseState(uint256 caseId) external view returns (CaseState) {
        return _case(caseId).state;
    }

    /// @inheritdoc ICaseDesk
    function isOverdue(uint256 caseId) external view returns (bool) {
        return _overdue(_case(caseId));
    }

    /// @inheritdoc ICaseDesk
    function getCase(uint256 caseId) external view returns (CaseView memory v) {
        Case storage c = _case(caseId);
        v.id = caseId;
        v.raiserId = c.raiserId;
        v.leadId = c.team[0];
        v.channelId = c.channelId;
        v.areaCode = c.areaCode;
        v.category = c.category;
        v.descriptionHash = c.descriptionHash;
        v.ackDeadline = c.ackDeadline;
        v.resolveDeadline = c.resolveDeadline;
        v.resolveSeconds = c.resolveSeconds;
        v.closedAt = c.closedAt;
        v.round = c.round;
        v.sendBacks = c.sendBacks;
        v.satisfaction = c.satisfaction;
        v.dissatisfactionReopened = c.dissatisfactionReopened;
        v.overdue = _overdue(c);
        v.state = c.state;
    }

    /// @inheritdoc ICaseDesk
    function team(uint256 caseId) external view returns (uint64[] memory ids) {
        Case storage c = _case(caseId);
        ids = new uint64[](_TEAM);
        uint256 n;
        while (n < _TEAM && c.team[n] != 0) {
            ids[n] = c.team[n];
            n++;
        }
        assembly ("memory-safe") {
            mstore(ids, n)
        }
    }

    /// @inheritdoc ICaseDesk
    function assignment(uint256 caseId, uint64 memberId) external view returns (AssignmentView memory v) {
        Case storage c = _case(caseId);
        (bool named, uint8 bit) = _position(c, memberId);
        if (!named) return v;
        return AssignmentView(true, bit == 1, c.acknowledged & bit != 0, c.late & bit != 0, c.answered & bit != 0);
    }

    // ------------------------------------------------------------------ internals: transitions

    /// @dev New team and deadlines copied from the category's service level. When the district
    /// dispatches (`byDistrict`), it may name itself (`actingId`) as the lead: it takes the case.
    function _dispatch(
        uint256 caseId,
        Case storage c,
        uint16 category,
        uint64 leadId,
        uint64[] calldata assistingIds,
        uint64 actingId,
        bool byDistrict
    ) private {
        Level memory level = _levels[category];
        if (level.ackSeconds == 0) revert CaseUnknownCategory(category);
        uint8 round = c.round;
        if (round == type(uint8).max) revert CaseLimitReached(caseId);
        c.team = _team(leadId, assistingIds, byDistrict && leadId == actingId);
        c.ackDeadline = uint48(block.timestamp) + level.ackSeconds;
        c.resolveDeadline = uint48(block.timestamp) + level.resolveSeconds;
        c.state = CaseState.Dispatched;
        c.round = round + 1;
        c.category = category;
        c.resolveSeconds = level.resolveSeconds;
        c.acknowledged = 0;
        c.late = 0;
        c.answered = 0;
        _emitDispatched(caseId, c, assistingIds, actingId);
    }

    /// @dev Apart from {_dispatch} for the stack: the values are the slots it just wrote.
    function _emitDispatched(uint256 caseId, Case storage c, uint64[] calldata assistingIds, uint64 actingId) private {
        emit CaseDispatched(
            caseId, c.round, c.category, c.team[0], assistingIds, c.ackDeadline, c.resolveDeadline, actingId, msg.sender
        );
    }

    /// @dev The lead then the assisting departments, each once; `selfLead`: the district takes it.
    function _team(uint64 leadId, uint64[] calldata assistingIds, bool selfLead)
        private
        view
        returns (uint64[_TEAM] memory t)
    {
        uint256 n = assistingIds.length;
        if (n > MAX_ASSISTING) revert CaseTooManyDepartments(n, MAX_ASSISTING);
        t[0] = _checkDepartment(leadId, selfLead);
        for (uint256 i = 0; i < n; i++) {
            uint64 id = _checkDepartment(assistingIds[i], false);
            for (uint256 j = 0; j <= i; j++) {
                if (t[j] == id) revert CaseDuplicateDepartment(id);
            }
            t[i + 1] = id;
        }
    }

    /// @dev An active member with the Department role (or `self`: the district taking the case).
    function _checkDepartment(uint64 memberId, bool self) private view returns (uint64) {
        if (!self) {
            (uint16 roles, bool active) = _registry.memberRoles(memberId);
            if (!active || roles & _bit(IMembershipRegistry.Role.Department) == 0) revert CaseNotDepartment(memberId);
        }
        return memberId;
    }

    function _acknowledge(uint256 caseId, Case storage c, uint64 memberId, uint8 bit) private {
        CaseState s = c.state;
        if (!_withDepartments(s)) revert CaseWrongState(caseId, s);
        if (c.acknowledged & bit != 0) revert CaseAlreadyAcknowledged(caseId, memberId);
        bool late = block.timestamp > c.ackDeadline;
        bool lead = bit == 1;
        c.acknowledged |= bit;
        if (late) c.late |= bit;
        // An unacknowledged lead means a Dispatched case: its answer needs the acknowledgement.
        if (lead) c.state = CaseState.Acknowledged;
        emit CaseAcknowledged(caseId, memberId, msg.sender, lead, late);
    }

    function _answer(uint256 caseId, Case storage c, uint64 memberId, uint8 bit, bytes32 evidence) private {
        CaseState s = c.state;
        if (!_withDepartments(s)) revert CaseWrongState(caseId, s);
        if (c.acknowledged & bit == 0) revert CaseNotAcknowledged(caseId, memberId);
        // The lead's answer moves the case to AwaitingEvaluation: a second one is refused here.
        if (c.answered & bit != 0) revert CaseAlreadyAnswered(caseId, memberId);
        if (evidence == bytes32(0)) revert CaseZeroReference();
        bool lead = bit == 1;
        c.answered |= bit;
        if (lead) c.state = CaseState.AwaitingEvaluation;
        emit CaseAnswered(caseId, memberId, msg.sender, evidence, lead, block.timestamp > c.resolveDeadline);
    }

    function _sendBack(uint256 caseId, Case storage c, uint64 memberId, uint16 reasonCode, uint64 responsibleId)
        private
    {
        CaseState s = c.state;
        if (s != CaseState.Dispatched && s != CaseState.Acknowledged && s != CaseState.Reopened) {
            revert CaseWrongState(caseId, s);
        }
        if (responsibleId == memberId) revert CaseSelfResponsible(caseId, memberId);
        if (responsibleId != 0) {
            (, bool active) = _registry.memberRoles(responsibleId);
            if (!active) revert CaseUnknownMember(responsibleId);
        }
        // At most one send-back per dispatch and at most 255 dispatches: fits 8 bits.
        uint8 n = c.sendBacks + 1;
        c.sendBacks = n;
        if (responsibleId != 0 && n < 2) c.state = CaseState.SentBack;
        emit CaseSentBack(caseId, memberId, msg.sender, reasonCode, responsibleId, n);
        if (responsibleId == 0) _escalate(caseId, c, EscalationCause.NoOwner, memberId);
        else if (n >= 2) _escalate(caseId, c, EscalationCause.SentBackTwice, memberId);
    }

    function _escalate(uint256 caseId, Case storage c, EscalationCause cause, uint64 memberId) private {
        c.state = CaseState.Escalated;
        emit CaseEscalated(caseId, cause, memberId, msg.sender);
    }

    function _evaluate(uint256 caseId, Case storage c, uint64 memberId, Evaluation outcome, uint16 reasonCode)
        private
    {
        CaseState s = c.state;
        if (s != CaseState.AwaitingEvaluation) revert CaseWrongState(caseId, s);
        if (outcome == Evaluation.Rejected) {
            emit CaseEvaluated(caseId, memberId, msg.sender, outcome, reasonCode);
            _reopen(caseId, c, ReopenCause.Rejected, memberId);
            return;
        }
        c.state = outcome == Evaluation.Fixed ? CaseState.ClosedFixed : CaseState.ClosedNotFixed;
        c.closedAt = uint48(block.timestamp);
        emit CaseEvaluated(caseId, memberId, msg.sender, outcome, reasonCode);
    }

    function _recordSatisfaction(uint256 caseId, Case storage c, uint64 memberId, Satisfaction level) private {
        CaseState s = c.state;
        if (s != CaseState.ClosedFixed && s != CaseState.ClosedNotFixed) revert CaseWrongState(caseId, s);
        uint48 until = c.closedAt + _satisfactionWindow;
        if (block.timestamp > until) revert CaseSatisfactionWindowClosed(caseId, until);
        if (c.satisfaction != 0) revert CaseSatisfactionRecorded(caseId);
        bool reopen = level == Satisfaction.Dissatisfied && !c.dissatisfactionReopened;
        c.satisfaction = uint8(level) + 1;
        emit SatisfactionRecorded(caseId, memberId, msg.sender, level, reopen);
        if (reopen) {
            c.dissatisfactionReopened = true;
            _reopen(caseId, c, ReopenCause.Dissatisfied, memberId);
        }
    }

    /// @dev Back to the current team; the resolve deadline restarts with the duration fixed at
    /// dispatch, and every department may answer again.
    function _reopen(uint256 caseId, Case storage c, ReopenCause cause, uint64 memberId) private {
        uint48 resolveDeadline = uint48(block.timestamp) + c.resolveSeconds;
        c.state = CaseState.Reopened;
        c.resolveDeadline = resolveDeadline;
        c.closedAt = 0;
        c.satisfaction = 0;
        c.answered = 0;
        emit CaseReopened(caseId, cause, resolveDeadline, memberId);
    }

    // ------------------------------------------------------------------ internals: reads

    /// @dev The caller's case, member id and team position bit, if it is an active account of a
    /// department named in the case's current dispatch.
    function _requireNamed(uint256 caseId) private view returns (Case storage c, uint64 memberId, uint8 bit) {
        c = _case(caseId);
        bool active;
        (memberId,, active) = _caller();
        bool named;
        (named, bit) = _position(c, memberId);
        if (!active || !named) revert CaseNotNamed(caseId, msg.sender);
    }

    /// @dev Whether `memberId` is on the case's team, and its position as a mask bit (1: the lead).
    function _position(Case storage c, uint64 memberId) private view returns (bool, uint8) {
        if (memberId == 0) return (false, 0);
        for (uint256 i = 0; i < _TEAM; i++) {
            uint64 id = c.team[i];
            if (id == memberId) return (true, uint8(1 << i));
            if (id == 0) break;
        }
        return (false, 0);
    }

    /// @dev Overdue: derived from the deadlines and the chain time, never stored.
    function _overdue(Case storage c) private view returns (bool) {
        CaseState s = c.state;
        if (s == CaseState.Dispatched) return block.timestamp > c.ackDeadline;
        if (s == CaseState.Acknowledged || s == CaseState.Reopened || s == CaseState.SentBack) {
            return block.timestamp > c.resolveDeadline;
        }
        return false;
    }

    /// @dev With the departments: they may acknowledge and answer.
    function _withDepartments(CaseState s) private pure returns (bool) {
        return s == CaseState.Dispatched || s == CaseState.Acknowledged || s == CaseState.AwaitingEvaluation
            || s == CaseState.Reopened;
    }

    /// @dev Open, neither waiting for the raiser's evaluation nor with the district already.
    function _escalable(CaseState s) private pure returns (bool) {
        return s == CaseState.Dispatched || s == CaseState.Acknowledged || s == CaseState.SentBack
            || s == CaseState.Reopened;
    }

    function _case(uint256 caseId) private view returns (Case storage c) {
        c = _cases[caseId];
        if (c.round == 0) revert CaseUnknownCase(caseId);
    }
}
