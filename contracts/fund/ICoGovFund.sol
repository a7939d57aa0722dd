// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";

/// @title Community co-governance fund (社区共治基金)
/// @notice Holds one ERC-20 (set at deployment) and records every unit in and out.
///
/// Who does what (roles from the membership registry):
/// - contribute: any active account of a Department, Enterprise or ResidentGroup member
///   (roles do not matter: a resident account holding only Contributor may contribute).
///   Auditor members may not contribute (independence).
/// - proposeProject: an account with the Department or FundCommittee role; the beneficiary
///   must be an active account of a member.
/// - proposeAllocation, proposeCancellation, vote, settle: an account with the FundCommittee role.
/// - payMilestone: an account with the Treasurer role.
/// - claimRefund: an active account of the contributing member (paid to that account).
///
/// Decisions are motions: a project's approval (created with the project; it decides the
/// general-pool allocation the proposal asks too, so one vote approves a project and its pool
/// money), a later general-pool allocation to an approved project (a top-up), a project's
/// cancellation. Committee members vote once per
/// member (not per account) until the motion's deadline (`createdAt + votingPeriod`). The
/// proposer's member and the beneficiary's member never vote on any motion of their project.
///
/// The decision rule: at the deadline a motion passes if at least `quorum` votes were cast
/// and approvals > rejections; otherwise it fails. A vote decides the motion earlier only
/// when no remaining vote can change that outcome: once votes >= quorum, with R eligible
/// voters left (committee members now, not conflicted, not voted), it passes when
/// approvals > rejections + R and fails when approvals + R <= rejections. (Below quorum no
/// vote decides: a motion that cannot reach quorum fails at its deadline.) A motion not
/// decided by a vote is decided at its deadline by
/// {motionState} (derived, as OpenZeppelin Governor's `state()`; no keeper): its effects
/// (a project approved, rejected or cancelled, an allocation credited) hold from the
/// deadline in every view, and are recorded with their events (`decidedAt` = the deadline)
/// by the next write on the project, or by {settle}.
///
/// Pool money is reserved so that a motion decided at its deadline can always be honoured:
/// a top-up motion reserves its amount when a committee member proposes it; a project's
/// approval asking for pool money reserves it by the vote after which its votes would pass it
/// (quorum and approvals > rejections; that vote is refused with FundInsufficientPool when the
/// pool's free money is short), and returns it by a vote after which they would not. A proposal
/// alone (a Department may propose) never holds pool money. The reservation becomes the
/// project's allocation if the motion passes, and returns to the pool if it fails or lapses.
/// A project has at most one open allocation motion and one open cancellation motion.
///
/// Money: available(project) = earmarked contributions + approved allocations - paid.
/// A payout draws on the project's earmarked contributions first (oldest receipt first),
/// then on its allocations; allocated money is drawn from general-pool contributions oldest
/// receipt first across the whole pool. When a project closes (Rejected, Cancelled,
/// Completed) its unspent allocation returns to the pool and each earmarked contribution's
/// unspent remainder becomes refundable to its contributor (ledger/fund_trace.py replays
/// the same rule from events alone).
///
/// Invariant: token.balanceOf(fund) == totalContributed - totalPaidOut - totalRefunded
/// (tokens sent to the fund outside `contribute` are not contributions and break equality
/// upwards only; fee-on-transfer tokens are refused by `contribute`).
interface ICoGovFund {
    /// @dev Derived by {projectState} from stored timestamps and sums, never stored.
    enum ProjectState {
        Proposed, // approval motion open; open for earmarked contributions
        TimeLocked, // approved; no payout before approvedAt + timeLock
        Active, // approved and unlocked; milestone payouts
        Completed, // every milestone fully paid
        Rejected, // approval motion failed
        Cancelled // cancelled by a committee motion
    }

    enum MotionKind {
        ApproveProject,
        AllocateFromPool,
        CancelProject
    }

    /// @dev Derived by {motionState}: Passed or Failed once decided (by a vote, or at the
    /// deadline). Lapsed: undecided when its project closed (e.g. cancelled).
    enum MotionState {
        Open,
        Passed,
        Failed,
        Lapsed
    }

    /// @dev Government = member kind Department, Resident = member kind ResidentGroup.
    enum ContributorKind {
        Government,
        Enterprise,
        Resident
    }

    struct MilestoneSpec {
        uint256 amount;
        bytes32 descriptionHash;
    }

    struct MilestoneView {
        uint256 amount;
        uint256 paid;
        bytes32 descriptionHash;
    }

    struct ProjectView {
        uint256 id;
        bytes32 titleHash;
        address proposer;
        uint64 proposerId;
        address beneficiary;
        uint256 budget;
        uint256 approvalMotionId;
        uint48 approvedAt;
        uint48 unlocksAt;
        uint48 cancelledAt;
        uint256 milestoneCount;
        uint256 paid;
        uint256 earmarked;
        uint256 earmarkedSpent;
        uint256 allocated;
        uint256 allocatedSpent;
        uint256 allocationReleased;
        uint256 refunded;
        uint256 available;
        ProjectState state;
    }

    struct ContributionView {
        uint256 receiptId;
        address contributor;
        uint64 memberId;
        ContributorKind kind;
        uint256 projectId;
        uint256 amount;
        bytes32 memoHash;
        uint48 contributedAt;
        uint256 spent;
        bool refunded;
        uint256 refundable;
    }

    struct MotionView {
        uint256 id;
        MotionKind kind;
        uint256 projectId;
        uint256 amount;
        uint64 proposerId;
        uint48 createdAt;
        uint48 deadline;
        uint48 decidedAt;
        uint32 approvals;
        uint32 rejections;
        MotionState state;
    }

    // ------------------------------------------------------------------ errors

    /// @notice Quorum must be at least 1.
    error FundInvalidQuorum(uint256 quorum);
    /// @notice The voting period must be between 1 second and 365 days.
    error FundInvalidVotingPeriod(uint48 votingPeriod);
    /// @notice The token or registry address is zero.
    error FundZeroAddress();
    /// @notice The caller is not an active account of any member.
    error FundNotMember(address account);
    /// @notice Members of this kind may not contribute.
    error FundContributorKindRefused(address account, IMembershipRegistry.MemberKind kind);
    /// @notice The caller has neither the Department nor the FundCommittee role.
    error FundNotProposer(address account);
    /// @notice The caller does not have the FundCommittee role.
    error FundNotCommittee(address account);
    /// @notice The caller does not have the Treasurer role.
    error FundNotTreasurer(address account);
    /// @notice The caller is not an active account of the contribution's member.
    error FundNotContributor(uint256 receiptId, address account);
    /// @notice Amounts must be positive.
    error FundZeroAmount();
    /// @notice A reference hash (title, invoice) must not be zero.
    error FundZeroReference();
    /// @notice The beneficiary must not be the zero address.
    error FundZeroBeneficiary();
    /// @notice The beneficiary must be an active account of a registered member (so that the
    /// conflict-of-interest rules see its member).
    error FundBeneficiaryNotMember(address beneficiary);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are refused).
    error FundTransferShortfall(uint256 expected, uint256 received);
    /// @notice A project needs 1..MAX_MILESTONES milestones.
    error FundInvalidMilestoneCount(uint256 count, uint256 max);
    /// @notice A milestone amount must be positive.
    error FundZeroMilestone(uint256 index);
    /// @notice The budget must equal the sum of milestone amounts.
    error FundBudgetMismatch(uint256 budget, uint256 milestoneSum);
    /// @notice No project has this id.
    error FundUnknownProject(uint256 projectId);
    /// @notice No milestone has this index in the project.
    error FundUnknownMilestone(uint256 projectId, uint256 index);
    /// @notice No motion has this id.
    error FundUnknownMotion(uint256 motionId);
    /// @notice No contribution has this receipt id.
    error FundUnknownReceipt(uint256 receiptId);
    /// @notice Earmarked contributions go only to Proposed, TimeLocked or Active projects.
    error FundProjectNotOpenForFunding(uint256 projectId, ProjectState state);
    /// @notice Allocations go only to TimeLocked or Active projects.
    error FundProjectNotApproved(uint256 projectId, ProjectState state);
    /// @notice The project is Completed, Rejected or Cancelled.
    error FundProjectClosed(uint256 projectId, ProjectState state);
    /// @notice Refunds wait until the project is Completed, Rejected or Cancelled.
    error FundProjectStillOpen(uint256 projectId, ProjectState state);
    /// @notice Payouts need an approved project whose time lock has passed.
    error FundProjectNotActive(uint256 projectId, ProjectState state);
    /// @notice The approved project is still time-locked.
    error FundTimeLocked(uint256 projectId, uint48 unlocksAt, uint48 nowAt);
    /// @notice The motion is not open for votes.
    error FundMotionNotOpen(uint256 motionId, MotionState state);
    /// @notice The member voted on this motion already (through any of its accounts).
    error FundAlreadyVoted(uint256 motionId, uint64 memberId);
    /// @notice The project's proposer member never votes on its project.
    error FundProposerCannotVote(uint256 projectId, uint64 memberId);
    /// @notice The project's beneficiary member never votes on its project.
    error FundBeneficiaryCannotVote(uint256 projectId, uint64 memberId);
    /// @notice The project has an open motion of this kind already (one at a time).
    error FundMotionPending(uint256 projectId, uint256 motionId);
    /// @notice The general pool has less free money than the allocation asks.
    error FundInsufficientPool(uint256 requested, uint256 free);
    /// @notice A proposal may ask the general pool for at most its budget.
    error FundAllocationExceedsBudget(uint256 poolAllocation, uint256 budget);
    /// @notice The treasurer's member is the beneficiary's member: no self-payment.
    error FundTreasurerIsBeneficiary(uint256 projectId, uint64 memberId);
    /// @notice The payout exceeds what remains of the milestone.
    error FundExceedsMilestone(uint256 projectId, uint256 index, uint256 amount, uint256 remaining);
    /// @notice The payout exceeds the project's available money.
    error FundExceedsAvailable(uint256 projectId, uint256 amount, uint256 available);
    /// @notice General-pool contributions are not refundable.
    error FundNotRefundable(uint256 receiptId);
    /// @notice The contribution was refunded already.
    error FundAlreadyRefunded(uint256 receiptId);
    /// @notice The contribution was spent entirely: nothing to refund.
    error FundNothingToRefund(uint256 receiptId);

    // ------------------------------------------------------------------ events

    /// @notice Emitted once, by the constructor.
    event FundDeployed(address token, address registry, uint256 quorum, uint48 timeLock, uint48 votingPeriod);
    /// @notice A contribution was received. `projectId` 0 is the general pool.
    event ContributionReceived(
        uint256 indexed receiptId,
        uint64 indexed memberId,
        address indexed contributor,
        ContributorKind kind,
        uint256 projectId,
        uint256 amount,
        bytes32 memoHash
    );
    event ProjectProposed(
        uint256 indexed projectId,
        uint64 indexed proposerId,
        address proposer,
        address beneficiary,
        bytes32 titleHash,
        uint256 budget,
        uint256 milestoneCount,
        uint256 approvalMotionId
    );
    event MilestoneDefined(uint256 indexed projectId, uint256 index, uint256 amount, bytes32 descriptionHash);
    event MotionProposed(
        uint256 indexed motionId,
        MotionKind kind,
        uint256 indexed projectId,
        uint64 indexed proposerId,
        address proposer,
        uint256 amount
    );
    event VoteCast(
        uint256 indexed motionId, uint64 indexed memberId, address voter, bool support, uint32 approvals, uint32 rejections
    );
    /// @notice A motion's decision recorded: by the vote that made the outcome certain
    /// (`decidedAt` = that block's time), or after its deadline (`decidedAt` = the deadline).
    event MotionDecided(
        uint256 indexed motionId,
        MotionKind kind,
        uint256 indexed projectId,
        bool passed,
        uint32 approvals,
        uint32 rejections,
        uint48 decidedAt
    );
    event ProjectApproved(uint256 indexed projectId, uint48 unlocksAt);
    event ProjectRejected(uint256 indexed projectId);
    event ProjectCancelled(uint256 indexed projectId, uint256 earmarkedUnspent);
    event ProjectCompleted(uint256 indexed projectId, uint256 earmarkedUnspent);
    event AllocationApproved(uint256 indexed motionId, uint256 indexed projectId, uint256 amount);
    /// @notice The unspent allocation of a closed project returned to the general pool.
    event AllocationReleased(uint256 indexed projectId, uint256 amount);
    /// @notice An allocation motion's reservation returned to the general pool: the motion
    /// failed, or lapsed when its project closed.
    event ReservationReleased(uint256 indexed motionId, uint256 indexed projectId, uint256 amount);
    /// @notice A milestone payout; `fromEarmarked` + `fromGeneral` == `amount` (tracing rule).
    event PayoutMade(
        uint256 indexed payoutId,
        uint256 indexed projectId,
        uint256 milestoneIndex,
        address beneficiary,
        uint256 amount,
        bytes32 invoiceHash,
        uint64 treasurerId,
        uint256 fromEarmarked,
        uint256 fromGeneral
    );
    event RefundClaimed(
        uint256 indexed receiptId, uint256 indexed projectId, uint64 indexed memberId, address to, uint256 amount
    );

    // ------------------------------------------------------------------ writes

    /// @notice Contribute `amount` of the fund token (pulled with transferFrom; approve first).
    /// @param projectId A project open for funding, or 0 for the general pool.
    /// @param memoHash Hash of an off-chain memo (may be zero).
    /// @return receiptId The contribution's receipt id (1, 2, ...).
    function contribute(uint256 amount, uint256 projectId, bytes32 memoHash) external returns (uint256 receiptId);

    /// @notice Propose a project; its approval motion opens at once (its `amount` is
    /// `poolAllocation`): passing it approves the project and allocates `poolAllocation` from
    /// the general pool.
    /// @param budget Must equal the sum of the milestone amounts.
    /// @param poolAllocation General-pool money asked (0: none; at most `budget`), reserved by
    ///        the vote that would pass the approval, not by the proposal.
    function proposeProject(
        bytes32 titleHash,
        address beneficiary,
        uint256 budget,
        MilestoneSpec[] calldata milestones,
        uint256 poolAllocation
    ) external returns (uint256 projectId);

    /// @notice Propose allocating `amount` of free general-pool money to an approved project (a
    /// top-up of what its proposal asked); the amount is reserved until the motion is decided.
    /// One open allocation per project.
    function proposeAllocation(uint256 projectId, uint256 amount) external returns (uint256 motionId);

    /// @notice Propose cancelling an open (Proposed, TimeLocked or Active) project. One open
    /// cancellation motion per project.
    function proposeCancellation(uint256 projectId) external returns (uint256 motionId);

    /// @notice Vote on an open motion (before its deadline), once per member. The vote after
    /// which no remaining vote can change the outcome decides it (see the decision rule). A
    /// vote on a project's approval asking for pool money reserves or returns it (see above).
    function vote(uint256 motionId, bool support) external;

    /// @notice Record the decisions of the project's motions whose deadline passed (their
    /// events and bookkeeping; every view shows them already). FundCommittee only.
    /// @return recorded True if a decision was recorded.
    function settle(uint256 projectId) external returns (bool recorded);

    /// @notice Pay `amount` of milestone `milestoneIndex` to the beneficiary. Treasurer only.
    /// @param invoiceHash Hash of the invoice or receipt justifying the payout.
    function payMilestone(uint256 projectId, uint256 milestoneIndex, uint256 amount, bytes32 invoiceHash)
        external
        returns (uint256 payoutId);

    /// @notice Refund the unspent remainder of an earmarked contribution of a closed project
    /// to the calling account (an active account of the contributing member). Once.
    function claimRefund(uint256 receiptId) external returns (uint256 amount);

    // ------------------------------------------------------------------ reads

    function token() external view returns (address);
    function registry() external view returns (address);
    function quorum() external view returns (uint256);
    function timeLock() external view returns (uint48);
    /// @notice Seconds a motion stays open for votes after it is proposed.
    function votingPeriod() external view returns (uint48);

    /// @notice Σ contributions received.
    function totalContributed() external view returns (uint256);
    /// @notice Σ milestone payouts.
    function totalPaidOut() external view returns (uint256);
    /// @notice Σ refunds paid.
    function totalRefunded() external view returns (uint256);

    /// @notice General pool: contributed, spent by payouts, committed (allocated to open
    /// projects, reserved by top-up motions not yet recorded as decided, or held by the votes
    /// of an undecided approval asking for pool money), free.
    function generalPool() external view returns (uint256 total, uint256 spent, uint256 committed, uint256 free);

    function projectCount() external view returns (uint256);
    function contributionCount() external view returns (uint256);
    function motionCount() external view returns (uint256);
    function payoutCount() external view returns (uint256);

    function projectState(uint256 projectId) external view returns (ProjectState);
    function getProject(uint256 projectId) external view returns (ProjectView memory);
    function getMilestone(uint256 projectId, uint256 index) external view returns (MilestoneView memory);
    /// @notice Money the project may still pay out now (earmarked + allocated - paid), 0 once closed.
    function available(uint256 projectId) external view returns (uint256);

    function getContribution(uint256 receiptId) external view returns (ContributionView memory);
    /// @notice Part of the contribution attributed to payouts so far (the tracing rule).
    function spentOf(uint256 receiptId) external view returns (uint256);
    /// @notice What {claimRefund} would pay now (0 if not refundable).
    function refundable(uint256 receiptId) external view returns (uint256);

    function motionState(uint256 motionId) external view returns (MotionState);
    function getMotion(uint256 motionId) external view returns (MotionView memory);
    function hasVoted(uint256 motionId, uint64 memberId) external view returns (bool);
}
