// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";

/// @title Cases: 街乡吹哨,部门报到 (a sub-district summons departments, they report in)
/// @notice A sub-district raises a case from residents' reports, naming a lead department and
/// assisting ones; each named department acknowledges (报到) before its deadline, answers with
/// the evidence of its work, or sends the case back (退单) naming who it believes responsible;
/// the raising sub-district evaluates the lead's answer; escalated cases go to the district (兜底).
///
/// Who does what (roles from the membership registry; identity is the member, never the account):
/// - raiseCase: an account with the SubDistrict role; the case's raiser is its member.
/// - acknowledge, answer, sendBack: an active account of a department named in the case's
///   current dispatch (named departments held the Department role when they were named).
/// - redispatch: the raiser, on a SentBack case; an account with the District role, on an
///   Escalated case (the district may name itself as the lead: it takes the case).
/// - escalate: the raiser, on an open case; anyone, on an overdue case.
/// - evaluate: the raiser, on a case AwaitingEvaluation.
/// - recordSatisfaction: an account with the Channel role (the case's channel, when it names one).
/// - proposeServiceLevel, approveServiceLevel: an account with the Council role.
///
/// Rules:
/// - Service levels: each category has a deadline to acknowledge and one to resolve (seconds),
///   changed only by a council proposal approved by `registry.threshold()` members on the council
///   now (the approval that reaches it applies the change). A case copies them at each dispatch:
///   a later change never moves a dispatched case's deadlines.
/// - Lifecycle: raised -> Dispatched; the lead's acknowledgement -> Acknowledged; the lead's
///   answer -> AwaitingEvaluation; the raiser's evaluation -> ClosedFixed, ClosedNotFixed or
///   Reopened (rejected: the resolve deadline restarts with the duration fixed at dispatch);
///   the lead's answer to a Reopened case -> AwaitingEvaluation again. A named department's
///   send-back -> SentBack (the raiser re-dispatches or escalates), or Escalated at once when it
///   names no responsible member or it is the case's second send-back; the district re-dispatches
///   an Escalated case (-> Dispatched). Within the satisfaction window after closing, the channel
///   records the residents' satisfaction; the first "dissatisfied" reopens the case (once per case).
/// - Acknowledgement after the acknowledge deadline and answers after the resolve deadline are
///   recorded as late (events). Assisting departments acknowledge (once per dispatch) and answer
///   (once per dispatch or reopening) without moving the case's state.
/// - Overdue is derived, never stored: a Dispatched case whose acknowledge deadline passed, or an
///   Acknowledged, Reopened or SentBack case whose resolve deadline passed.
/// @dev The case's state is one stored enum, changed only by the transitions above, each with its
/// event naming the acting member; overdue comes from the deadlines and block.timestamp.
/// Residents' reports and the description are hashes; their text stays off chain.
interface ICaseDesk {
    enum CaseState {
        Dispatched, // 0: waiting for the lead's acknowledgement
        Acknowledged, // 1: the lead acknowledged; waiting for its answer
        AwaitingEvaluation, // 2: the lead answered; waiting for the raiser's evaluation
        SentBack, // 3: a named department sent it back; the raiser re-dispatches or escalates
        Escalated, // 4: with the district (兜底)
        Reopened, // 5: the answer was rejected, or the residents were dissatisfied
        ClosedFixed, // 6: accepted by the raiser
        ClosedNotFixed // 7: closed by the raiser as not fixed
    }

    /// @notice The raiser's evaluation of the lead's answer.
    enum Evaluation {
        Fixed, // -> ClosedFixed
        Rejected, // -> Reopened (the sub-district's veto)
        NotFixed // -> ClosedNotFixed
    }

    /// @notice The residents' satisfaction (满意 / 基本满意 / 不满意).
    enum Satisfaction {
        Satisfied,
        BasicallySatisfied,
        Dissatisfied
    }

    enum EscalationCause {
        ByRaiser, // the raiser escalated it
        Overdue, // anyone escalated an overdue case
        SentBackTwice, // its second send-back
        NoOwner // a send-back naming no responsible member
    }

    enum ReopenCause {
        Rejected, // the raiser rejected the answer
        Dissatisfied // the residents were dissatisfied (once per case)
    }

    /// @dev Derived by {proposalState}: Applied once it reached the threshold, Expired after
    /// the registry's proposal lifetime (copied when proposed).
    enum ProposalState {
        Open,
        Applied,
        Expired
    }

    /// @notice A category's service level, as given to the constructor.
    struct CategorySpec {
        uint16 category;
        uint32 ackSeconds;
        uint32 resolveSeconds;
    }

    struct CaseView {
        uint256 id;
        uint64 raiserId;
        uint64 leadId;
        uint64 channelId; // 0: any Channel member may record satisfaction
        uint64 areaCode;
        uint16 category;
        bytes32 descriptionHash;
        uint48 ackDeadline;
        uint48 resolveDeadline;
        uint32 resolveSeconds; // fixed at dispatch; a reopening restarts the resolve deadline with it
        uint48 closedAt; // 0 unless closed
        uint8 round; // dispatches so far (1 after raising)
        uint8 sendBacks;
        uint8 satisfaction; // 0: none recorded since the last closing; else 1 + Satisfaction
        bool dissatisfactionReopened; // the once-per-case reopening by dissatisfaction is used
        bool overdue;
        CaseState state;
    }

    struct AssignmentView {
        bool named; // named in the case's current dispatch
        bool lead;
        bool acknowledged;
        bool late; // acknowledged after the acknowledge deadline
        bool answered; // answered since the current dispatch or the last reopening
    }

    struct ProposalView {
        uint256 id;
        uint16 category;
        uint32 ackSeconds;
        uint32 resolveSeconds;
        uint64 proposerId;
        uint48 createdAt;
        uint48 expiresAt;
        uint64[] approvers;
        uint256 approvals; // approvers on the council now
        ProposalState state;
    }

    // ------------------------------------------------------------------ errors

    /// @notice The registry address is zero.
    error CaseZeroAddress();
    /// @notice The satisfaction window must be between 1 hour and 365 days.
    error CaseInvalidWindow(uint48 window);
    /// @notice The caller is not an active account of a member holding the role.
    error CaseMissingRole(address account, IMembershipRegistry.Role role);
    /// @notice No case has this id.
    error CaseUnknownCase(uint256 caseId);
    /// @notice The category has no service level (never set, or retired).
    error CaseUnknownCategory(uint16 category);
    /// @notice A description or evidence hash must not be zero.
    error CaseZeroReference();
    /// @notice The area code must not be zero.
    error CaseZeroArea();
    /// @notice At most MAX_ASSISTING assisting departments.
    error CaseTooManyDepartments(uint256 count, uint256 max);
    /// @notice A named department must be an active member with the Department role.
    error CaseNotDepartment(uint64 memberId);
    /// @notice A department is named twice in one dispatch.
    error CaseDuplicateDepartment(uint64 memberId);
    /// @notice The caller is not an active account of a department named in the current dispatch.
    error CaseNotNamed(uint256 caseId, address account);
    /// @notice The transition is not open in the case's state.
    error CaseWrongState(uint256 caseId, CaseState state);
    /// @notice The department acknowledged this dispatch already.
    error CaseAlreadyAcknowledged(uint256 caseId, uint64 memberId);
    /// @notice A department answers only after acknowledging.
    error CaseNotAcknowledged(uint256 caseId, uint64 memberId);
    /// @notice The department answered since the current dispatch or the last reopening already.
    error CaseAlreadyAnswered(uint256 caseId, uint64 memberId);
    /// @notice The member named responsible is not an active member.
    error CaseUnknownMember(uint64 memberId);
    /// @notice A department cannot send a case back naming itself responsible.
    error CaseSelfResponsible(uint256 caseId, uint64 memberId);
    /// @notice The caller is not an active account of the case's raiser.
    error CaseNotRaiser(uint256 caseId, address account);
    /// @notice Only the raiser escalates a case that is not overdue.
    error CaseNotOverdue(uint256 caseId, uint48 ackDeadline, uint48 resolveDeadline);
    /// @notice The case names another channel.
    error CaseNotChannel(uint256 caseId, address account);
    /// @notice The satisfaction window closed at `closedUntil`.
    error CaseSatisfactionWindowClosed(uint256 caseId, uint48 closedUntil);
    /// @notice Satisfaction was recorded since the case's last closing already.
    error CaseSatisfactionRecorded(uint256 caseId);
    /// @notice The case reached 255 dispatches.
    error CaseLimitReached(uint256 caseId);
    /// @notice A service level is 0 < ack <= resolve <= 365 days, or (0, 0) to retire a category.
    error CaseInvalidServiceLevel(uint16 category, uint32 ackSeconds, uint32 resolveSeconds);
    /// @notice No service-level proposal has this id.
    error CaseUnknownProposal(uint256 proposalId);
    /// @notice The proposal was applied or expired.
    error CaseProposalNotOpen(uint256 proposalId, ProposalState state);
    /// @notice The member approved this proposal already.
    error CaseAlreadyApproved(uint256 proposalId, uint64 memberId);

    // ------------------------------------------------------------------ events

    /// @notice Emitted once, by the constructor.
    event CaseDeskDeployed(address registry, uint48 satisfactionWindow);
    /// @notice A category's service level changed: by the constructor (`proposalId` 0) or by
    /// the council proposal that reached the threshold.
    event ServiceLevelSet(
        uint16 indexed category,
        uint32 oldAckSeconds,
        uint32 oldResolveSeconds,
        uint32 ackSeconds,
        uint32 resolveSeconds,
        uint256 proposalId
    );
    event ServiceLevelProposed(
        uint256 indexed proposalId,
        uint16 indexed category,
        uint32 ackSeconds,
        uint32 resolveSeconds,
        uint64 memberId,
        address account,
        uint48 expiresAt
    );
    event ServiceLevelApproved(uint256 indexed proposalId, uint64 indexed memberId, address account);
    /// @notice A case was raised (吹哨). Its dispatch follows in the same transaction.
    event CaseRaised(
        uint256 indexed caseId,
        uint64 indexed raiserId,
        address account,
        uint64 areaCode,
        bytes32 descriptionHash,
        bytes32[] reportHashes,
        uint64 channelId
    );
    /// @notice The case was dispatched (raised, or re-dispatched by the raiser or the district):
    /// its departments and its deadlines, copied from the category's service level.
    event CaseDispatched(
        uint256 indexed caseId,
        uint8 round,
        uint16 indexed category,
        uint64 leadId,
        uint64[] assistingIds,
        uint48 ackDeadline,
        uint48 resolveDeadline,
        uint64 memberId,
        address account
    );
    /// @notice A named department acknowledged (报到); `late`: after the acknowledge deadline.
    event CaseAcknowledged(uint256 indexed caseId, uint64 indexed memberId, address account, bool lead, bool late);
    /// @notice A named department answered; the lead's answer asks for evaluation. `late`:
    /// after the resolve deadline.
    event CaseAnswered(
        uint256 indexed caseId, uint64 indexed memberId, address account, bytes32 evidenceHash, bool lead, bool late
    );
    /// @notice A named department sent the case back (退单). `responsibleId` 0: no owner named.
    event CaseSentBack(
        uint256 indexed caseId,
        uint64 indexed memberId,
        address account,
        uint16 reasonCode,
        uint64 responsibleId,
        uint8 sendBacks
    );
    /// @notice The case went to the district. `memberId` 0: the caller is no member.
    event CaseEscalated(uint256 indexed caseId, EscalationCause cause, uint64 memberId, address account);
    event CaseEvaluated(
        uint256 indexed caseId, uint64 indexed memberId, address account, Evaluation outcome, uint16 reasonCode
    );
    /// @notice The case went back to its departments with a new resolve deadline.
    event CaseReopened(uint256 indexed caseId, ReopenCause cause, uint48 resolveDeadline, uint64 memberId);
    event SatisfactionRecorded(
        uint256 indexed caseId, uint64 indexed memberId, address account, Satisfaction level, bool reopened
    );

    // ------------------------------------------------------------------ writes

    /// @notice Raise a case (吹哨) and dispatch it.
    /// @param category A category with a service level; the case's deadlines are copied from it.
    /// @param areaCode A coarse area code (e.g. the 12-digit statistical division code of a
    ///        community), never an address.
    /// @param descriptionHash Hash of the off-chain description.
    /// @param reportHashes Hashes of the residents' reports it groups (emitted, not stored).
    /// @param channelId The Channel member that took the reports (0: any Channel member).
    /// @param leadId The lead department; `assistingIds` at most MAX_ASSISTING others.
    function raiseCase(
        uint16 category,
        uint64 areaCode,
        bytes32 descriptionHash,
        bytes32[] calldata reportHashes,
        uint64 channelId,
        uint64 leadId,
        uint64[] calldata assistingIds
    ) external returns (uint256 caseId);

    /// @notice Acknowledge (报到) as a named department, once per dispatch; late is recorded.
    function acknowledge(uint256 caseId) external;

    /// @notice Answer as a named department that acknowledged, with the evidence of its work.
    /// The lead's answer moves the case to AwaitingEvaluation.
    function answer(uint256 caseId, bytes32 evidenceHash) external;

    /// @notice Send the case back (退单) as a named department, naming the member believed
    /// responsible (0: none known, which escalates at once, as a second send-back does).
    function sendBack(uint256 caseId, uint16 reasonCode, uint64 responsibleId) external;

    /// @notice Dispatch a SentBack case again (the raiser) or an Escalated one (the district),
    /// with new departments and new deadlines from `category`'s service level.
    function redispatch(uint256 caseId, uint16 category, uint64 leadId, uint64[] calldata assistingIds) external;

    /// @notice Send the case to the district: the raiser, any open case not awaiting its
    /// evaluation; anyone, an overdue case.
    function escalate(uint256 caseId) external;

    /// @notice Evaluate the lead's answer, as the raiser. `reasonCode`: why (for a rejection).
    function evaluate(uint256 caseId, Evaluation outcome, uint16 reasonCode) external;

    /// @notice Record the residents' satisfaction with a closed case, within the satisfaction
    /// window after its closing, once per closing. The first Dissatisfied reopens the case.
    function recordSatisfaction(uint256 caseId, Satisfaction level) external;

    /// @notice Propose a category's service level (0, 0 retires it); the proposer approves at once.
    function proposeServiceLevel(uint16 category, uint32 ackSeconds, uint32 resolveSeconds)
        external
        returns (uint256 proposalId);

    /// @notice Approve an open proposal, once per council member; the approval that brings the
    /// approvals of current council members to the registry's threshold applies it.
    function approveServiceLevel(uint256 proposalId) external;

    // ------------------------------------------------------------------ reads

    /// @notice Assisting departments a dispatch may name besides the lead.
    function MAX_ASSISTING() external view returns (uint256);
    function registry() external view returns (address);
    /// @notice Seconds after a closing during which satisfaction may be recorded.
    function satisfactionWindow() external view returns (uint48);
    function serviceLevel(uint16 category) external view returns (uint32 ackSeconds, uint32 resolveSeconds);
    function caseCount() external view returns (uint256);
    function caseState(uint256 caseId) external view returns (CaseState);
    /// @notice Whether the case is overdue now (derived from its deadlines and the chain time).
    function isOverdue(uint256 caseId) external view returns (bool);
    function getCase(uint256 caseId) external view returns (CaseView memory);
    /// @notice The current dispatch's departments, the lead first.
    function team(uint256 caseId) external view returns (uint64[] memory);
    function assignment(uint256 caseId, uint64 memberId) external view returns (AssignmentView memory);
    function proposalCount() external view returns (uint256);
    function proposalState(uint256 proposalId) external view returns (ProposalState);
    function getProposal(uint256 proposalId) external view returns (ProposalView memory);
}
