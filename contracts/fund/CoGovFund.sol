// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Panic} from "@openzeppelin/contracts/utils/Panic.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {ICoGovFund} from "./ICoGovFund.sol";

/// @title CoGovFund
/// @notice The community co-governance fund. See {ICoGovFund} for the rules.
/// @dev Attribution bookkeeping is O(1) per operation: each contribution stores the running
/// total of its queue (the project's earmarked queue, or the general pool) before it; the
/// queue's spent pointer only grows, so a contribution's spent part is
/// clamp(spentPointer - totalBefore, 0, amount): FIFO by receipt id.
///
/// Storage is packed so that a payout updates slots that are already non-zero: amounts are
/// kept in 128 bits (2^128 units of a 2-decimal token is ~3.4e36 CNY; a larger amount or sum
/// fails with the arithmetic-overflow panic, as a 256-bit sum past 2^256 always did), and ids
/// in 48 bits (one id per transaction, checked increments: never reached).
contract CoGovFund is ICoGovFund, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    uint256 private constant _MAX_MILESTONES = 32;

    struct Project {
        bytes32 titleHash;
        // slot: 20 + 8 + 1 bytes
        address proposer;
        uint64 proposerId;
        uint8 milestoneCount; // <= _MAX_MILESTONES
        // slot: 20 + 6 + 6 bytes
        address beneficiary;
        uint48 cancelMotionId; // the latest cancellation motion (0: none); cancelledAt is its decision time
        uint48 approvalMotionId; // never 0 for a proposed project: the existence test
        uint128 budget;
        uint128 paid;
        uint128 earmarked; // Σ earmarked contributions received
        uint128 earmarkedSpent; // FIFO pointer into the project's earmarked queue
        // The allocation the proposal asked (written with the proposal, counted only once its
        // approval motion passed) + approved top-ups; `allocated - toppedUp` is the proposal's.
        uint128 allocated;
        uint128 allocatedSpent;
        uint128 allocationReleased; // unspent allocation returned to the pool at closure
        uint128 refunded;
        uint48 allocationMotionId; // the latest top-up allocation motion (0: none)
        uint128 toppedUp; // Σ approved top-ups (allocation motions)
    }

    struct Milestone {
        uint128 amount;
        uint128 paid;
        bytes32 descriptionHash;
    }

    struct Contribution {
        address contributor;
        uint64 memberId;
        ContributorKind kind;
        bool refunded;
        uint128 amount;
        uint128 queuedBefore; // Σ of earlier contributions in the same queue
        uint48 projectId;
        uint48 contributedAt;
        bytes32 memoHash;
    }

    /// @dev First slot: everything a vote reads and writes. The second slot (proposer and
    /// amount) is written only for allocation and cancellation motions: a project's approval
    /// motion is proposed by the project's proposer, and its amount (the pool allocation the
    /// proposal asks) is the project's, both read from the project. `decidedAt` is
    /// set when the decision is recorded (by the deciding vote, or after the deadline by
    /// {_settle}); until then {_derive} computes the decision from the tallies and the clock.
    /// Every motion not recorded is one of its project's three pointers (approval, latest
    /// allocation, latest cancellation): a new motion of a kind is opened only once the
    /// previous one is recorded.
    struct Motion {
        MotionKind kind;
        bool passed;
        uint48 createdAt;
        uint48 decidedAt;
        uint32 approvals;
        uint32 rejections;
        uint48 projectId;
        uint32 votedLow; // bit i: member i voted (ids below 32; larger ids in _voted)
        uint64 proposerId; // 0 for ApproveProject: see _motionProposer
        uint128 amount;
    }

    struct Counts {
        uint48 projects;
        uint48 contributions;
        uint48 motions;
        uint48 payouts;
    }

    IMembershipRegistry private immutable _registry;
    IERC20 private immutable _token;
    uint256 private immutable _quorum;
    uint48 private immutable _timeLock;
    uint48 private immutable _votingPeriod;

    mapping(uint256 projectId => Project) private _projects;
    mapping(uint256 projectId => mapping(uint256 index => Milestone)) private _milestones;
    mapping(uint256 receiptId => Contribution) private _contributions;
    mapping(uint256 motionId => Motion) private _motions;
    /// @dev Voters with member ids of 32 and above, one bit per id (ids below 32, a city's
    /// first members, are kept in the motion's own slot, which every vote writes anyway).
    mapping(uint256 motionId => BitMaps.BitMap) private _voted;

    Counts private _counts;

    // Packed in pairs so that a payout writes one slot (paid, and the general queue's pointer)
    // and a reservation writes a slot a general-pool contribution made non-zero.
    uint128 private _totalPaid;
    uint128 private _generalSpent; // FIFO pointer into the general queue
    uint128 private _generalTotal; // Σ general-pool contributions
    // Σ allocations (approved, or reserved by a motion that passes on its votes so far) minus
    // what returned to the pool; spending does not change it: committed = claimed - spent.
    uint128 private _generalClaimed;
    uint128 private _totalContributed;
    uint128 private _totalRefunded;

    /// @param registry_ The membership registry (roles and member ids).
    /// @param token_ The ERC-20 the fund holds (CommunityCredit in development, any ERC-20).
    /// @param quorum_ Committee votes that decide a motion; fixed for the fund's lifetime
    ///        (a new quorum means a new fund, deployed through the council's process).
    /// @param timeLock_ Seconds between a project's approval and its first payout.
    /// @param votingPeriod_ Seconds a motion is open for votes; undecided by then, it is
    ///        decided at its deadline by the votes cast.
    constructor(IMembershipRegistry registry_, IERC20 token_, uint256 quorum_, uint48 timeLock_, uint48 votingPeriod_) {
        if (address(registry_) == address(0) || address(token_) == address(0)) revert FundZeroAddress();
        if (quorum_ == 0 || quorum_ > type(uint32).max) revert FundInvalidQuorum(quorum_);
        if (votingPeriod_ == 0 || votingPeriod_ > 365 days) revert FundInvalidVotingPeriod(votingPeriod_);
        _registry = registry_;
        _token = token_;
        _quorum = quorum_;
        _timeLock = timeLock_;
        _votingPeriod = votingPeriod_;
        emit FundDeployed(address(token_), address(registry_), quorum_, timeLock_, votingPeriod_);
    }

    // ------------------------------------------------------------------ writes

    /// @inheritdoc ICoGovFund
    function contribute(uint256 amount, uint256 projectId, bytes32 memoHash)
        external
        nonReentrant
        returns (uint256 receiptId)
    {
        (uint64 memberId, ContributorKind kind) = _requireContributor();
        receiptId = _recordContribution(memberId, kind, amount, projectId, memoHash);
        // Interaction last (checks-effects-interactions): the contribution is recorded
        // before the token is pulled; a token that moves less than asked reverts it all.
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != amount) revert FundTransferShortfall(amount, received);
    }

    /// @inheritdoc ICoGovFund
    function proposeProject(
        bytes32 titleHash,
        address beneficiary,
        uint256 budget,
        MilestoneSpec[] calldata milestones,
        uint256 poolAllocation
    ) external returns (uint256 projectId) {
        (uint64 memberId, uint16 roles, bool active) = _caller();
        if (!active || roles & (_bit(IMembershipRegistry.Role.Department) | _bit(IMembershipRegistry.Role.FundCommittee)) == 0) {
            revert FundNotProposer(msg.sender);
        }
        projectId = _proposeProject(memberId, titleHash, beneficiary, budget, milestones, poolAllocation);
    }

    /// @inheritdoc ICoGovFund
    function proposeAllocation(uint256 projectId, uint256 amount) external returns (uint256 motionId) {
        uint64 memberId = _requireCommittee();
        Project storage p = _project(projectId);
        _settle(p);
        ProjectState s = _state(projectId);
        if (s != ProjectState.TimeLocked && s != ProjectState.Active) revert FundProjectNotApproved(projectId, s);
        _requireNoPending(projectId, p.allocationMotionId);
        if (amount == 0) revert FundZeroAmount();
        _reserve(amount); // until decided
        motionId = _openMotion(MotionKind.AllocateFromPool, projectId, amount, memberId);
        p.allocationMotionId = uint48(motionId);
    }

    /// @inheritdoc ICoGovFund
    function proposeCancellation(uint256 projectId) external returns (uint256 motionId) {
        uint64 memberId = _requireCommittee();
        Project storage p = _project(projectId);
        _settle(p);
        ProjectState s = _state(projectId);
        if (_isClosed(s)) revert FundProjectClosed(projectId, s);
        _requireNoPending(projectId, p.cancelMotionId);
        motionId = _openMotion(MotionKind.CancelProject, projectId, 0, memberId);
        p.cancelMotionId = uint48(motionId);
    }

    /// @inheritdoc ICoGovFund
    function vote(uint256 motionId, bool support) external {
        uint64 memberId = _requireCommittee();
        _vote(motionId, memberId, support);
    }

    /// @inheritdoc ICoGovFund
    function settle(uint256 projectId) external returns (bool recorded) {
        _requireCommittee();
        return _settle(_project(projectId));
    }

    /// @inheritdoc ICoGovFund
    function payMilestone(uint256 projectId, uint256 milestoneIndex, uint256 amount, bytes32 invoiceHash)
        external
        nonReentrant
        returns (uint256 payoutId)
    {
        (uint64 treasurerId, uint16 roles, bool active) = _caller();
        if (!active || roles & _bit(IMembershipRegistry.Role.Treasurer) == 0) revert FundNotTreasurer(msg.sender);
        // Decisions taken at a deadline (approval, allocation, cancellation) are recorded first.
        _settle(_project(projectId));
        address beneficiary;
        (payoutId, beneficiary) = _recordPayout(projectId, milestoneIndex, amount, invoiceHash, treasurerId);
        // Interaction last (checks-effects-interactions): the payout is recorded (milestone,
        // project and pool sums) before the tokens leave, so a re-entrant call sees it spent.
        _token.safeTransfer(beneficiary, amount);
    }

    /// @inheritdoc ICoGovFund
    function claimRefund(uint256 receiptId) external nonReentrant returns (uint256 amount) {
        Contribution storage c = _contribution(receiptId);
        (uint64 memberId,,, bool active) = _registry.accountInfo(msg.sender);
        if (!active || memberId != c.memberId) revert FundNotContributor(receiptId, msg.sender);
        // A closure decided at a deadline is recorded (its events) before the refund.
        if (c.projectId != 0) _settle(_projects[c.projectId]);
        amount = _recordRefund(receiptId, msg.sender);
        // Interaction last (checks-effects-interactions): marked refunded before paying, so
        // a second claim, re-entrant or not, finds FundAlreadyRefunded.
        _token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc ICoGovFund
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICoGovFund
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ICoGovFund
    function quorum() external view returns (uint256) {
        return _quorum;
    }

    /// @inheritdoc ICoGovFund
    function timeLock() external view returns (uint48) {
        return _timeLock;
    }

    /// @inheritdoc ICoGovFund
    function votingPeriod() external view returns (uint48) {
        return _votingPeriod;
    }

    /// @inheritdoc ICoGovFund
    function totalContributed() external view returns (uint256) {
        return _totalContributed;
    }

    /// @inheritdoc ICoGovFund
    function totalPaidOut() external view returns (uint256) {
        return _totalPaid;
    }

    /// @inheritdoc ICoGovFund
    function totalRefunded() external view returns (uint256) {
        return _totalRefunded;
    }

    /// @inheritdoc ICoGovFund
    function generalPool() external view returns (uint256 total, uint256 spent, uint256 committed, uint256 free) {
        return (_generalTotal, _generalSpent, _generalClaimed - _generalSpent, _poolFree());
    }

    /// @inheritdoc ICoGovFund
    function projectCount() external view returns (uint256) {
        return _counts.projects;
    }

    /// @inheritdoc ICoGovFund
    function contributionCount() external view returns (uint256) {
        return _counts.contributions;
    }

    /// @inheritdoc ICoGovFund
    function motionCount() external view returns (uint256) {
        return _counts.motions;
    }

    /// @inheritdoc ICoGovFund
    function payoutCount() external view returns (uint256) {
        return _counts.payouts;
    }

    /// @inheritdoc ICoGovFund
    function projectState(uint256 projectId) external view returns (ProjectState) {
        return _state(projectId);
    }

    /// @inheritdoc ICoGovFund
    function getProject(uint256 projectId) external view returns (ProjectView memory v) {
        Project storage p = _project(projectId);
        v.id = projectId;
        v.titleHash = p.titleHash;
        v.proposer = p.proposer;
        v.proposerId = p.proposerId;
        v.beneficiary = p.beneficiary;
        v.budget = p.budget;
        v.approvalMotionId = p.approvalMotionId;
        (MotionState approval, uint48 approvedAt) = _derive(p.approvalMotionId);
        if (approval == MotionState.Passed) {
            v.approvedAt = approvedAt;
            v.unlocksAt = approvedAt + _timeLock;
        }
        v.milestoneCount = p.milestoneCount;
        v.paid = p.paid;
        v.earmarked = p.earmarked;
        v.earmarkedSpent = p.earmarkedSpent;
        v.allocated = _allocated(p);
        v.allocatedSpent = p.allocatedSpent;
        v.allocationReleased = p.allocationReleased;
        v.refunded = p.refunded;
        v.state = _state(projectId);
        if (v.state == ProjectState.Cancelled) {
            Motion storage c = _motions[p.cancelMotionId];
            (, v.cancelledAt) = _derive(p.cancelMotionId);
            // Cancelled at its deadline, not yet recorded: the release {_close} will record.
            if (c.decidedAt == 0) v.allocationReleased = v.allocated - p.allocatedSpent;
        }
        v.available = _isClosed(v.state) ? 0 : v.earmarked - v.earmarkedSpent + v.allocated - v.allocatedSpent;
    }

    /// @inheritdoc ICoGovFund
    function getMilestone(uint256 projectId, uint256 index) external view returns (MilestoneView memory) {
        Milestone storage m = _milestone(projectId, index);
        Project storage p = _projects[projectId];
        if (p.milestoneCount == 1) return MilestoneView(p.budget, p.paid, m.descriptionHash);
        return MilestoneView(m.amount, m.paid, m.descriptionHash);
    }

    /// @inheritdoc ICoGovFund
    function available(uint256 projectId) external view returns (uint256) {
        Project storage p = _project(projectId);
        return _isClosed(_state(projectId)) ? 0 : p.earmarked - p.earmarkedSpent + _allocated(p) - p.allocatedSpent;
    }

    /// @inheritdoc ICoGovFund
    function getContribution(uint256 receiptId) external view returns (ContributionView memory v) {
        Contribution storage c = _contribution(receiptId);
        v.receiptId = receiptId;
        v.contributor = c.contributor;
        v.memberId = c.memberId;
        v.kind = c.kind;
        v.projectId = c.projectId;
        v.amount = c.amount;
        v.memoHash = c.memoHash;
        v.contributedAt = c.contributedAt;
        v.spent = _spent(c);
        v.refunded = c.refunded;
        v.refundable = _refundable(c);
    }

    /// @inheritdoc ICoGovFund
    function spentOf(uint256 receiptId) external view returns (uint256) {
        return _spent(_contribution(receiptId));
    }

    /// @inheritdoc ICoGovFund
    function refundable(uint256 receiptId) external view returns (uint256) {
        return _refundable(_contribution(receiptId));
    }

    /// @inheritdoc ICoGovFund
    function motionState(uint256 motionId) external view returns (MotionState) {
        return _motionState(motionId);
    }

    /// @inheritdoc ICoGovFund
    function getMotion(uint256 motionId) external view returns (MotionView memory v) {
        Motion storage m = _motion(motionId);
        v.id = motionId;
        v.kind = m.kind;
        v.projectId = m.projectId;
        v.amount = m.kind == MotionKind.ApproveProject ? _asked(_projects[m.projectId]) : m.amount;
        v.proposerId = _motionProposer(m);
        v.createdAt = m.createdAt;
        v.deadline = m.createdAt + _votingPeriod;
        v.approvals = m.approvals;
        v.rejections = m.rejections;
        (v.state, v.decidedAt) = _derive(motionId);
    }

    /// @inheritdoc ICoGovFund
    function hasVoted(uint256 motionId, uint64 memberId) external view returns (bool) {
        return _hasVoted(motionId, _motions[motionId], memberId);
    }

    // ------------------------------------------------------------------ internals: authorisation

    function _requireContributor() private view returns (uint64 memberId, ContributorKind kind) {
        (uint64 id, IMembershipRegistry.MemberKind mk,, bool active) = _registry.accountInfo(msg.sender);
        if (id == 0 || !active) revert FundNotMember(msg.sender);
        if (mk == IMembershipRegistry.MemberKind.Department) kind = ContributorKind.Government;
        else if (mk == IMembershipRegistry.MemberKind.Enterprise) kind = ContributorKind.Enterprise;
        else if (mk == IMembershipRegistry.MemberKind.ResidentGroup) kind = ContributorKind.Resident;
        else revert FundContributorKindRefused(msg.sender, mk);
        memberId = id;
    }

    /// @dev The beneficiary is an active account of a member: the conflict-of-interest rules
    /// (no vote, no self-payment) then see its member.
    function _requireMemberBeneficiary(address beneficiary) private view {
        if (beneficiary == address(0)) revert FundZeroBeneficiary();
        (uint64 memberId,,, bool active) = _registry.accountInfo(beneficiary);
        if (memberId == 0 || !active) revert FundBeneficiaryNotMember(beneficiary);
    }

    function _requireCommittee() private view returns (uint64 memberId) {
        uint16 roles;
        bool active;
        (memberId, roles, active) = _caller();
        if (!active || roles & _bit(IMembershipRegistry.Role.FundCommittee) == 0) revert FundNotCommittee(msg.sender);
    }

    /// @dev The caller's member id, roles and whether the account is active, in one registry
    /// call: `active && roles & bit(role) != 0` is exactly `registry.hasRole(msg.sender, role)`.
    function _caller() private view returns (uint64 memberId, uint16 roles, bool active) {
        (memberId,, roles, active) = _registry.accountInfo(msg.sender);
    }

    function _bit(IMembershipRegistry.Role role) private pure returns (uint16) {
        return uint16(1) << uint8(role);
    }

    /// @dev Amounts enter storage in 128 bits; a larger one fails as an arithmetic overflow.
    function _u128(uint256 x) private pure returns (uint128) {
        if (x > type(uint128).max) Panic.panic(Panic.UNDER_OVERFLOW);
        return uint128(x);
    }

    // ------------------------------------------------------------------ internals: writes

    function _recordContribution(
        uint64 memberId,
        ContributorKind kind,
        uint256 amount,
        uint256 projectId,
        bytes32 memoHash
    ) private returns (uint256 receiptId) {
        if (amount == 0) revert FundZeroAmount();
        uint128 amount128 = _u128(amount);
        uint128 queuedBefore;
        if (projectId == 0) {
            queuedBefore = _generalTotal;
            _generalTotal = queuedBefore + amount128;
        } else {
            ProjectState s = _state(projectId);
            if (s != ProjectState.Proposed && s != ProjectState.TimeLocked && s != ProjectState.Active) {
                revert FundProjectNotOpenForFunding(projectId, s);
            }
            Project storage p = _projects[projectId];
            queuedBefore = p.earmarked;
            p.earmarked = queuedBefore + amount128;
        }
        receiptId = ++_counts.contributions;
        Contribution storage c = _contributions[receiptId];
        c.contributor = msg.sender;
        c.memberId = memberId;
        c.kind = kind;
        c.amount = amount128;
        c.queuedBefore = queuedBefore;
        c.projectId = uint48(projectId); // 0, or an existing project's id (checked by _state)
        c.contributedAt = uint48(block.timestamp);
        if (memoHash != bytes32(0)) c.memoHash = memoHash;
        _totalContributed += amount128;
        emit ContributionReceived(receiptId, memberId, msg.sender, kind, projectId, amount, memoHash);
    }

    function _proposeProject(
        uint64 proposerId,
        bytes32 titleHash,
        address beneficiary,
        uint256 budget,
        MilestoneSpec[] calldata milestones,
        uint256 poolAllocation
    ) private returns (uint256 projectId) {
        uint128 budget128 = _checkProposal(titleHash, beneficiary, budget, milestones, poolAllocation);
        projectId = ++_counts.projects;
        uint256 motionId = _nextMotion(MotionKind.ApproveProject, projectId, 0, proposerId);
        Project storage p = _projects[projectId];
        p.titleHash = titleHash;
        p.proposer = msg.sender;
        p.proposerId = proposerId;
        p.milestoneCount = uint8(milestones.length); // <= _MAX_MILESTONES
        p.beneficiary = beneficiary;
        p.approvalMotionId = uint48(motionId);
        p.budget = budget128;
        // Asked, not reserved: the pool is checked and reserved by the vote that carries the
        // approval (see _vote), so a proposal alone never holds pool money.
        if (poolAllocation != 0) p.allocated = uint128(poolAllocation); // <= budget: 128 bits
        emit ProjectProposed(projectId, proposerId, msg.sender, beneficiary, titleHash, budget, milestones.length, motionId);
        _defineMilestones(projectId, milestones);
        emit MotionProposed(motionId, MotionKind.ApproveProject, projectId, proposerId, msg.sender, poolAllocation);
    }

    /// @dev A proposal's checks; its budget in 128 bits (each milestone amount, and the pool
    /// allocation, are at most the budget: they fit too).
    function _checkProposal(
        bytes32 titleHash,
        address beneficiary,
        uint256 budget,
        MilestoneSpec[] calldata milestones,
        uint256 poolAllocation
    ) private view returns (uint128) {
        if (titleHash == bytes32(0)) revert FundZeroReference();
        _requireMemberBeneficiary(beneficiary);
        if (milestones.length == 0 || milestones.length > _MAX_MILESTONES) {
            revert FundInvalidMilestoneCount(milestones.length, _MAX_MILESTONES);
        }
        uint256 sum;
        for (uint256 i = 0; i < milestones.length; i++) {
            if (milestones[i].amount == 0) revert FundZeroMilestone(i);
            sum += milestones[i].amount;
        }
        if (sum != budget) revert FundBudgetMismatch(budget, sum);
        if (poolAllocation > budget) revert FundAllocationExceedsBudget(poolAllocation, budget);
        return _u128(budget);
    }

    /// @dev A one-milestone project's milestone amount and paid sum are the project's budget
    /// and paid sum: stored once, in the project.
    function _defineMilestones(uint256 projectId, MilestoneSpec[] calldata milestones) private {
        mapping(uint256 => Milestone) storage ms = _milestones[projectId];
        bool one = milestones.length == 1;
        for (uint256 i = 0; i < milestones.length; i++) {
            Milestone storage m = ms[i];
            if (!one) m.amount = uint128(milestones[i].amount);
            bytes32 descriptionHash = milestones[i].descriptionHash;
            if (descriptionHash != bytes32(0)) m.descriptionHash = descriptionHash;
            emit MilestoneDefined(projectId, i, milestones[i].amount, descriptionHash);
        }
    }

    function _openMotion(MotionKind kind, uint256 projectId, uint256 amount, uint64 proposerId)
        private
        returns (uint256 motionId)
    {
        motionId = _nextMotion(kind, projectId, amount, proposerId);
        emit MotionProposed(motionId, kind, projectId, proposerId, msg.sender, amount);
    }

    function _nextMotion(MotionKind kind, uint256 projectId, uint256 amount, uint64 proposerId)
        private
        returns (uint256 motionId)
    {
        motionId = ++_counts.motions;
        Motion storage m = _motions[motionId];
        m.kind = kind;
        m.createdAt = uint48(block.timestamp);
        m.projectId = uint48(projectId); // an existing project's id (callers checked it)
        if (kind != MotionKind.ApproveProject) {
            m.proposerId = proposerId;
            m.amount = uint128(amount); // allocations are at most the free pool (128 bits)
        }
    }

    function _motionProposer(Motion storage m) private view returns (uint64) {
        return m.kind == MotionKind.ApproveProject ? _projects[m.projectId].proposerId : m.proposerId;
    }

    function _vote(uint256 motionId, uint64 memberId, bool support) private {
        Motion storage m = _motion(motionId);
        uint256 projectId = m.projectId;
        Project storage p = _projects[projectId];
        // Decisions of this project's other motions taken at their deadlines come first.
        _settle(p);
        (MotionState ms,) = _derive(motionId);
        if (ms != MotionState.Open) revert FundMotionNotOpen(motionId, ms);
        uint64 beneficiaryId = _registry.memberIdOf(p.beneficiary);
        if (memberId == p.proposerId) revert FundProposerCannotVote(projectId, memberId);
        if (memberId == beneficiaryId) revert FundBeneficiaryCannotVote(projectId, memberId);
        if (_hasVoted(motionId, m, memberId)) revert FundAlreadyVoted(motionId, memberId);

        if (memberId < 32) m.votedLow |= uint32(1) << memberId;
        else _voted[motionId].set(memberId);
        uint32 approvals = m.approvals;
        uint32 rejections = m.rejections;
        if (support) approvals += 1;
        else rejections += 1;
        m.approvals = approvals;
        m.rejections = rejections;
        emit VoteCast(motionId, memberId, msg.sender, support, approvals, rejections);
        if (m.kind == MotionKind.ApproveProject) _holdAsked(p, support, approvals, rejections);

        // Below quorum nothing is certain yet: the remaining voters are counted (a registry
        // scan) only once quorum is reached.
        if (uint256(approvals) + rejections < _quorum) return;
        (bool decided, bool passed) = _earlyOutcome(approvals, rejections, _eligibleLeft(motionId, m, p.proposerId, beneficiaryId));
        if (decided) _decide(motionId, m, p, passed, uint48(block.timestamp));
    }

    /// @dev An approval asking for pool money holds it while its votes would pass it: reserved
    /// by the vote that makes them pass (refused if the pool has less free money), returned by
    /// one that makes them fail. So its decision, by a vote or at the deadline, is honoured.
    function _holdAsked(Project storage p, bool support, uint256 approvals, uint256 rejections) private {
        bool passing = _passes(approvals, rejections);
        bool wasPassing = support ? _passes(approvals - 1, rejections) : _passes(approvals, rejections - 1);
        if (passing == wasPassing) return;
        uint256 asked = p.allocated; // an undecided approval: no top-up yet
        if (asked == 0) return;
        if (passing) _reserve(asked);
        else _generalClaimed -= uint128(asked);
    }

    /// @dev With quorum reached and `left` eligible voters still to vote: decided only if no
    /// way they vote can change the outcome. Virtual only so that the test-only
    /// QuorumFirstFund (contracts/test) can show what the auditor catches without this rule.
    function _earlyOutcome(uint256 approvals, uint256 rejections, uint256 left)
        internal
        pure
        virtual
        returns (bool decided, bool passed)
    {
        if (approvals > rejections + left) return (true, true); // approvals cannot be overtaken
        if (approvals + left <= rejections) return (true, false); // rejections cannot be overcome
        return (false, false);
    }

    /// @dev Committee members who may still vote: holding FundCommittee now, neither the
    /// project's proposer nor its beneficiary's member, not voted on the motion yet.
    function _eligibleLeft(uint256 motionId, Motion storage m, uint64 proposerId, uint64 beneficiaryId)
        private
        view
        returns (uint256 left)
    {
        uint64[] memory committee = _registry.membersWithRole(IMembershipRegistry.Role.FundCommittee);
        for (uint256 i = 0; i < committee.length; i++) {
            uint64 id = committee[i];
            if (id != proposerId && id != beneficiaryId && !_hasVoted(motionId, m, id)) left++;
        }
    }

    function _hasVoted(uint256 motionId, Motion storage m, uint64 memberId) private view returns (bool) {
        if (memberId < 32) return (m.votedLow >> memberId) & 1 != 0;
        return _voted[motionId].get(memberId);
    }

    /// @dev The deadline rule: quorum, and more approvals than rejections.
    function _passes(uint256 approvals, uint256 rejections) private view returns (bool) {
        return approvals + rejections >= _quorum && approvals > rejections;
    }

    /// @dev Record the decisions the clock has taken on the project's motions (past their
    /// deadline, not recorded yet), oldest motion first, so that their events and
    /// bookkeeping precede the write that follows. Every view derives them already.
    function _settle(Project storage p) private returns (bool recorded) {
        uint256 a = p.approvalMotionId;
        recorded = _record(a, p);
        // A top-up motion exists only once the approval is recorded (proposeAllocation settles
        // first): an approval's own votes need not read it.
        uint256 x = _motions[a].decidedAt != 0 ? p.allocationMotionId : 0;
        uint256 y = p.cancelMotionId;
        if (x > y) (x, y) = (y, x);
        if (x != 0 && _record(x, p)) recorded = true;
        if (y != 0 && _record(y, p)) recorded = true;
    }

    function _record(uint256 motionId, Project storage p) private returns (bool) {
        Motion storage m = _motions[motionId];
        if (m.decidedAt != 0) return false;
        (MotionState ms, uint48 decidedAt) = _derive(motionId);
        if (ms != MotionState.Passed && ms != MotionState.Failed) return false;
        _decide(motionId, m, p, ms == MotionState.Passed, decidedAt);
        return true;
    }

    function _decide(uint256 motionId, Motion storage m, Project storage p, bool passed, uint48 decidedAt) private {
        uint256 projectId = m.projectId;
        MotionKind kind = m.kind;
        m.decidedAt = decidedAt;
        m.passed = passed;
        emit MotionDecided(motionId, kind, projectId, passed, m.approvals, m.rejections, decidedAt);

        if (kind == MotionKind.ApproveProject) {
            if (passed) {
                emit ProjectApproved(projectId, decidedAt + _timeLock);
                // Reserved by the votes that pass it (see _vote): now the project's.
                uint128 asked = p.allocated;
                if (asked != 0) emit AllocationApproved(motionId, projectId, asked);
            } else {
                emit ProjectRejected(projectId); // failing votes hold no reservation
            }
        } else if (kind == MotionKind.AllocateFromPool) {
            uint128 amount = m.amount;
            if (passed) {
                p.allocated += amount; // reserved in the pool since the proposal: stays claimed
                p.toppedUp += amount;
                emit AllocationApproved(motionId, projectId, amount);
            } else {
                _generalClaimed -= amount;
                emit ReservationReleased(motionId, projectId, amount);
            }
        } else if (passed) {
            emit ProjectCancelled(projectId, p.earmarked - p.earmarkedSpent);
            _close(projectId, p);
        }
    }

    /// @dev A project closed (cancelled or completed): its unspent allocation and the
    /// reservation of an allocation motion still open (which lapses) return to the pool. A
    /// project cancelled before its approval was decided: the approval lapses, and the pool
    /// money its votes held (they would pass it) returns.
    function _close(uint256 projectId, Project storage p) private {
        uint256 a = p.approvalMotionId;
        Motion storage approval = _motions[a];
        if (approval.decidedAt == 0) {
            // (after _settle: a recorded approval that failed closes nothing through here)
            uint128 asked = p.allocated;
            if (asked != 0 && _passes(approval.approvals, approval.rejections)) {
                _generalClaimed -= asked;
                emit ReservationReleased(a, projectId, asked);
            }
            return;
        }
        uint128 unspent = p.allocated - p.allocatedSpent;
        if (unspent != 0) {
            p.allocationReleased = unspent;
            _generalClaimed -= unspent;
            emit AllocationReleased(projectId, unspent);
        }
        uint256 x = p.allocationMotionId;
        if (x != 0 && _motions[x].decidedAt == 0) {
            uint128 reserved = _motions[x].amount;
            _generalClaimed -= reserved;
            emit ReservationReleased(x, projectId, reserved);
        }
    }

    /// @dev Reserve `amount` of free general-pool money (claimed until it returns).
    function _reserve(uint256 amount) private {
        uint256 free = _poolFree();
        if (amount > free) revert FundInsufficientPool(amount, free);
        _generalClaimed += uint128(amount); // amount <= free: 128 bits
    }

    function _requireNoPending(uint256 projectId, uint256 motionId) private view {
        // After _settle, a motion not recorded is still open.
        if (motionId != 0 && _motions[motionId].decidedAt == 0) revert FundMotionPending(projectId, motionId);
    }

    function _recordPayout(
        uint256 projectId,
        uint256 index,
        uint256 amount,
        bytes32 invoiceHash,
        uint64 treasurerId
    ) private returns (uint256 payoutId, address beneficiary) {
        Project storage p = _project(projectId);
        _checkPayable(projectId);
        Milestone storage m = _milestone(projectId, index);
        if (amount == 0) revert FundZeroAmount();
        if (invoiceHash == bytes32(0)) revert FundZeroReference();
        beneficiary = p.beneficiary;
        if (_registry.memberIdOf(beneficiary) == treasurerId) revert FundTreasurerIsBeneficiary(projectId, treasurerId);
        _spendMilestone(p, m, projectId, index, amount);
        uint256 earmarkLeft = p.earmarked - p.earmarkedSpent;
        if (amount > earmarkLeft + (p.allocated - p.allocatedSpent)) {
            revert FundExceedsAvailable(projectId, amount, _available(p));
        }
        // Tracing rule: earmarked money first, then the project's allocation (general pool).
        uint256 fromEarmarked = amount < earmarkLeft ? amount : earmarkLeft;
        uint256 fromGeneral = amount - fromEarmarked;

        // amount <= the milestone's remainder, a 128-bit value: these casts are exact.
        uint128 paid = p.paid + uint128(amount);
        p.paid = paid;
        if (fromEarmarked != 0) p.earmarkedSpent += uint128(fromEarmarked);
        if (fromGeneral != 0) {
            p.allocatedSpent += uint128(fromGeneral);
            _generalSpent += uint128(fromGeneral); // claimed already: committed = claimed - spent
        }
        _totalPaid += uint128(amount);
        payoutId = ++_counts.payouts;
        emit PayoutMade(
            payoutId, projectId, index, beneficiary, amount, invoiceHash, treasurerId, fromEarmarked, fromGeneral
        );
        if (paid == p.budget) {
            emit ProjectCompleted(projectId, p.earmarked - p.earmarkedSpent);
            _close(projectId, p);
        }
    }

    /// @dev The payout within what remains of the milestone, added to its paid sum. A
    /// one-milestone project's milestone is the project (see _defineMilestones): the project's
    /// paid sum, written by the payout, is the milestone's.
    function _spendMilestone(Project storage p, Milestone storage m, uint256 projectId, uint256 index, uint256 amount)
        private
    {
        bool one = p.milestoneCount == 1;
        uint256 remaining = one ? p.budget - p.paid : m.amount - m.paid;
        if (amount > remaining) revert FundExceedsMilestone(projectId, index, amount, remaining);
        if (!one) m.paid += uint128(amount); // <= the remainder: exact
    }

    function _recordRefund(uint256 receiptId, address to) private returns (uint256 amount) {
        Contribution storage c = _contributions[receiptId];
        if (c.projectId == 0) revert FundNotRefundable(receiptId);
        if (c.refunded) revert FundAlreadyRefunded(receiptId);
        ProjectState s = _state(c.projectId);
        if (!_isClosed(s)) revert FundProjectStillOpen(c.projectId, s);
        amount = c.amount - _spent(c);
        if (amount == 0) revert FundNothingToRefund(receiptId);
        c.refunded = true;
        _projects[c.projectId].refunded += uint128(amount); // at most c.amount: 128 bits
        _totalRefunded += uint128(amount);
        emit RefundClaimed(receiptId, c.projectId, c.memberId, to, amount);
    }

    /// @dev Payouts need an approved, unlocked, open project. Virtual only so that the
    /// test-only WeakFund (contracts/test) can show what an auditor catches without it.
    function _checkPayable(uint256 projectId) internal view virtual {
        ProjectState s = _state(projectId);
        if (s == ProjectState.TimeLocked) {
            (, uint48 approvedAt) = _derive(_projects[projectId].approvalMotionId);
            revert FundTimeLocked(projectId, approvedAt + _timeLock, uint48(block.timestamp));
        }
        if (s != ProjectState.Active) revert FundProjectNotActive(projectId, s);
    }

    // ------------------------------------------------------------------ internals: reads

    function _state(uint256 projectId) internal view returns (ProjectState) {
        Project storage p = _project(projectId);
        uint256 c = p.cancelMotionId;
        if (c != 0) {
            (MotionState cancel,) = _derive(c);
            if (cancel == MotionState.Passed) return ProjectState.Cancelled;
        }
        (MotionState approval, uint48 approvedAt) = _derive(p.approvalMotionId);
        if (approval == MotionState.Open) return ProjectState.Proposed;
        if (approval == MotionState.Failed) return ProjectState.Rejected;
        // (approval Lapsed means a cancellation passed: returned above)
        if (p.paid == p.budget) return ProjectState.Completed;
        if (block.timestamp < uint256(approvedAt) + _timeLock) return ProjectState.TimeLocked;
        return ProjectState.Active;
    }

    function _motionState(uint256 motionId) private view returns (MotionState s) {
        _motion(motionId);
        (s,) = _derive(motionId);
    }

    /// @dev A motion's state and decision time: as recorded, else derived. Not recorded: Lapsed
    /// if its project closed before the motion's deadline, Open before the deadline, else
    /// decided at the deadline by the votes cast (quorum and a majority of approvals).
    function _derive(uint256 motionId) private view returns (MotionState, uint48) {
        Motion storage m = _motions[motionId];
        if (m.decidedAt != 0) return (m.passed ? MotionState.Passed : MotionState.Failed, m.decidedAt);
        if (_lapsed(motionId, m)) return (MotionState.Lapsed, 0);
        uint48 deadline = m.createdAt + _votingPeriod;
        if (block.timestamp < deadline) return (MotionState.Open, 0);
        return (_passes(m.approvals, m.rejections) ? MotionState.Passed : MotionState.Failed, deadline);
    }

    /// @dev Whether a motion not recorded lapsed: its project closed before its deadline.
    /// Every write that records a decision or closes a project settles first, so a closure
    /// recorded while this motion is not means this motion's deadline had not passed; a
    /// cancellation decided at its own (earlier) deadline closes the project first too.
    function _lapsed(uint256 motionId, Motion storage m) private view returns (bool) {
        Project storage p = _projects[m.projectId];
        MotionKind kind = m.kind;
        if (kind != MotionKind.ApproveProject && p.paid == p.budget) return true; // completed
        if (kind == MotionKind.CancelProject) {
            (MotionState approval,) = _derive(p.approvalMotionId);
            return approval == MotionState.Failed; // rejected at an earlier deadline
        }
        uint256 c = p.cancelMotionId;
        if (c == 0) return false;
        Motion storage cm = _motions[c];
        if (cm.decidedAt != 0) return cm.passed; // cancelled (recorded) while this one was open
        if (kind == MotionKind.ApproveProject || c > motionId) return false;
        (MotionState cancel,) = _derive(c); // an allocation after a cancellation decided earlier
        return cancel == MotionState.Passed;
    }

    /// @dev Approved allocations (the proposal's once its approval passed), with a top-up
    /// passed at its deadline and not recorded yet.
    function _allocated(Project storage p) private view returns (uint256) {
        (MotionState approval,) = _derive(p.approvalMotionId);
        if (approval != MotionState.Passed) return 0;
        uint256 x = p.allocationMotionId;
        if (x != 0 && _motions[x].decidedAt == 0) {
            (MotionState s,) = _derive(x);
            if (s == MotionState.Passed) return uint256(p.allocated) + _motions[x].amount;
        }
        return p.allocated;
    }

    function _isClosed(ProjectState s) private pure returns (bool) {
        return s == ProjectState.Completed || s == ProjectState.Rejected || s == ProjectState.Cancelled;
    }

    function _available(Project storage p) private view returns (uint256) {
        return uint256(p.earmarked - p.earmarkedSpent) + (p.allocated - p.allocatedSpent);
    }

    function _poolFree() private view returns (uint256) {
        return _generalTotal - _generalClaimed;
    }

    /// @dev The pool allocation the project's proposal asked (its approval motion's amount).
    function _asked(Project storage p) private view returns (uint256) {
        return p.allocated - p.toppedUp;
    }

    /// @dev FIFO: the queue's spent pointer minus what queued before this contribution.
    function _spent(Contribution storage c) private view returns (uint256) {
        uint256 pointer = c.projectId == 0 ? _generalSpent : _projects[c.projectId].earmarkedSpent;
        if (pointer <= c.queuedBefore) return 0;
        uint256 used = pointer - c.queuedBefore;
        return used < c.amount ? used : c.amount;
    }

    function _refundable(Contribution storage c) private view returns (uint256) {
        if (c.projectId == 0 || c.refunded || !_isClosed(_state(c.projectId))) return 0;
        return c.amount - _spent(c);
    }

    function _project(uint256 projectId) private view returns (Project storage p) {
        p = _projects[projectId];
        if (p.approvalMotionId == 0) revert FundUnknownProject(projectId);
    }

    function _milestone(uint256 projectId, uint256 index) private view returns (Milestone storage) {
        if (index >= _projects[projectId].milestoneCount) revert FundUnknownMilestone(projectId, index);
        return _milestones[projectId][index];
    }

    function _contribution(uint256 receiptId) private view returns (Contribution storage c) {
        c = _contributions[receiptId];
        if (c.memberId == 0) revert FundUnknownReceipt(receiptId);
    }

    function _motion(uint256 motionId) private view returns (Motion storage m) {
        m = _motions[motionId];
        if (m.createdAt == 0) revert FundUnknownMotion(motionId);
    }
}
