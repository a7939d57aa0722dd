// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../../contracts/membership/IMembershipRegistry.sol";
import {MembershipRegistry} from "../../contracts/membership/MembershipRegistry.sol";
import {ICoGovFund} from "../../contracts/fund/ICoGovFund.sol";
import {CoGovFund} from "../../contracts/fund/CoGovFund.sol";
import {CommunityCredit} from "../../contracts/fund/CommunityCredit.sol";
import {Actors, InvariantBase, Vm} from "./Vm.sol";

/// @dev Member ids 1..10 of the fund scenario; member i has the account Actors.at(200 + i).
library FundCast {
    uint64 internal constant COUNCIL = 1;
    uint64 internal constant COMMITTEE_PROPOSER = 2; // FundCommittee + Department: proposes AND votes
    uint64 internal constant COMMITTEE_A = 3;
    uint64 internal constant COMMITTEE_B = 4;
    uint64 internal constant COMMITTEE_C = 5;
    uint64 internal constant DEPARTMENT = 6;
    uint64 internal constant TREASURER = 7;
    uint64 internal constant ENTERPRISE = 8;
    uint64 internal constant RESIDENTS = 9;
    uint64 internal constant BENEFICIARY = 10; // an enterprise that is also on the committee
    uint256 internal constant QUORUM = 3;
    uint48 internal constant TIME_LOCK = 1 days;
    uint48 internal constant VOTING_PERIOD = 2 days;

    function account(uint64 id) internal pure returns (address) {
        return Actors.at(200 + id);
    }
}

/// @notice Drives the fund with contributions, projects, votes, allocations, cancellations,
/// payouts, refunds and time; keeps ghost sums of every unit in and out and counts any
/// payout or vote that breaks the rules by an independent check made before the call.
contract FundHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    CoGovFund public immutable fund;
    CommunityCredit public immutable token;
    MembershipRegistry public immutable reg;

    uint256 public ghostIn;
    uint256 public ghostPaid;
    uint256 public ghostRefunded;
    uint256 public payouts;
    uint256 public refunds;
    /// A payout succeeded without quorum, before the time lock, above the milestone or above
    /// the project's available money, or for a closed project.
    uint256 public payoutViolations;
    /// A vote by the project's proposer member or beneficiary member succeeded.
    uint256 public voteViolations;
    /// Recording the decisions taken at deadlines (settle) changed a project or motion view.
    uint256 public settleViolations;
    uint256 public settled;

    constructor(CoGovFund fund_, CommunityCredit token_, MembershipRegistry reg_) {
        fund = fund_;
        token = token_;
        reg = reg_;
    }

    function _as(uint64 member, bytes memory callData) private returns (bool ok, bytes memory ret) {
        vm.prank(FundCast.account(member));
        (ok, ret) = address(fund).call(callData);
    }

    function _pick(uint256 seed, uint256 count) private pure returns (uint256) {
        return count == 0 ? 0 : count - seed % (count < 4 ? count : 4);
    }

    function _anyone(uint256 seed) private pure returns (uint64) {
        return uint64(1 + seed % 10);
    }

    // ------------------------------------------------------------------ actions

    function contribute(uint256 actorSeed, uint256 amount, uint256 projectSeed) external {
        uint64[4] memory contributors =
            [FundCast.ENTERPRISE, FundCast.RESIDENTS, FundCast.DEPARTMENT, FundCast.COMMITTEE_PROPOSER];
        uint64 who = actorSeed % 8 == 0 ? _anyone(actorSeed >> 8) : contributors[actorSeed % 4];
        uint256 projectId = projectSeed % 3 == 0 ? 0 : _pick(projectSeed >> 8, fund.projectCount());
        amount = 1 + amount % 1_000_000;
        (bool ok,) = _as(who, abi.encodeCall(ICoGovFund.contribute, (amount, projectId, bytes32("memo"))));
        if (ok) ghostIn += amount;
    }

    function proposeProject(uint256 actorSeed, uint256 amountSeed, uint8 milestoneCount) external {
        uint64 who = actorSeed % 2 == 0 ? FundCast.DEPARTMENT : FundCast.COMMITTEE_PROPOSER;
        if (actorSeed % 8 == 1) who = _anyone(actorSeed >> 8);
        uint256 n = 1 + milestoneCount % 3;
        ICoGovFund.MilestoneSpec[] memory ms = new ICoGovFund.MilestoneSpec[](n);
        uint256 budget;
        for (uint256 i = 0; i < n; i++) {
            ms[i] = ICoGovFund.MilestoneSpec(1 + (amountSeed >> (i * 20)) % 500_000, bytes32("milestone"));
            budget += ms[i].amount;
        }
        address beneficiary = (actorSeed >> 4) % 4 == 0 ? address(0xBEEF) : FundCast.account(FundCast.BENEFICIARY);
        _as(who, abi.encodeCall(ICoGovFund.proposeProject, (bytes32("title"), beneficiary, budget, ms, 0)));
    }

    function vote(uint256 actorSeed, uint256 motionSeed, bool support) external {
        uint64 who = actorSeed % 8 == 0 ? _anyone(actorSeed >> 8) : _voter(actorSeed);
        _vote(who, _pick(motionSeed, fund.motionCount()), support || actorSeed % 3 != 0);
    }

    /// Every committee member (and the beneficiary's member) votes yes on the motion in turn,
    /// each through the checked vote, so that motions are decided often enough.
    function rally(uint256 motionSeed) external {
        uint256 motionId = _pick(motionSeed, fund.motionCount());
        for (uint256 i = 0; i < 5; i++) {
            _vote(_voter(i), motionId, true);
        }
    }

    function _voter(uint256 seed) private pure returns (uint64) {
        uint64[5] memory voters = [
            FundCast.COMMITTEE_PROPOSER,
            FundCast.COMMITTEE_A,
            FundCast.COMMITTEE_B,
            FundCast.COMMITTEE_C,
            FundCast.BENEFICIARY
        ];
        return voters[seed % 5];
    }

    function _vote(uint64 who, uint256 motionId, bool support) private {
        if (motionId == 0) return;
        ICoGovFund.ProjectView memory p = fund.getProject(fund.getMotion(motionId).projectId);
        (bool ok,) = _as(who, abi.encodeCall(ICoGovFund.vote, (motionId, support)));
        if (ok && (who == p.proposerId || who == reg.memberIdOf(p.beneficiary))) voteViolations++;
    }

    function proposeAllocation(uint256 actorSeed, uint256 projectSeed, uint256 amount) external {
        uint64 who = actorSeed % 4 == 0 ? _anyone(actorSeed >> 8) : FundCast.COMMITTEE_A;
        (,,, uint256 free) = fund.generalPool();
        amount = 1 + amount % (free + 1);
        _as(who, abi.encodeCall(ICoGovFund.proposeAllocation, (_pick(projectSeed, fund.projectCount()), amount)));
    }

    function proposeCancellation(uint256 actorSeed, uint256 projectSeed) external {
        uint64 who = actorSeed % 4 == 0 ? _anyone(actorSeed >> 8) : FundCast.COMMITTEE_B;
        _as(who, abi.encodeCall(ICoGovFund.proposeCancellation, (_pick(projectSeed, fund.projectCount()))));
    }

    function payMilestone(uint256 actorSeed, uint256 projectSeed, uint256 index, uint256 amount) external {
        uint256 projectId = _pick(projectSeed, fund.projectCount());
        if (projectId == 0) return;
        uint64 who = actorSeed % 8 == 0 ? _anyone(actorSeed >> 8) : FundCast.TREASURER;
        ICoGovFund.ProjectView memory p = fund.getProject(projectId);
        index = index % (p.milestoneCount + 1); // sometimes one past the end
        uint256 remaining;
        if (index < p.milestoneCount) {
            ICoGovFund.MilestoneView memory m = fund.getMilestone(projectId, index);
            remaining = m.amount - m.paid;
            amount = amount % 4 == 0 ? remaining : 1 + amount % (remaining + 100);
        }
        // The rules, checked here from the stored motion and sums rather than projectState.
        ICoGovFund.MotionView memory approval = fund.getMotion(p.approvalMotionId);
        bool quorate = uint256(approval.approvals) + approval.rejections >= FundCast.QUORUM
            && approval.approvals > approval.rejections && approval.decidedAt != 0;
        bool unlocked = block.timestamp >= uint256(approval.decidedAt) + FundCast.TIME_LOCK;
        uint256 money = (p.earmarked - p.earmarkedSpent) + (p.allocated - p.allocatedSpent);
        bool open = p.cancelledAt == 0 && p.paid < p.budget;
        uint256 balanceBefore = token.balanceOf(p.beneficiary);

        (bool ok,) = _as(who, abi.encodeCall(ICoGovFund.payMilestone, (projectId, index, amount, bytes32("invoice"))));
        if (!ok) return;
        payouts++;
        ghostPaid += amount;
        if (!quorate || !unlocked || !open || amount > remaining || amount > money || who != FundCast.TREASURER) {
            payoutViolations++;
        }
        if (token.balanceOf(p.beneficiary) != balanceBefore + amount) payoutViolations++;
    }

    function claimRefund(uint256 actorSeed, uint256 receiptSeed) external {
        uint256 count = fund.contributionCount();
        if (count == 0) return;
        uint256 receiptId = 1 + receiptSeed % count; // any receipt: refunds come long after

        uint64 who = actorSeed % 4 == 0 ? _anyone(actorSeed >> 8) : fund.getContribution(receiptId).memberId;
        (bool ok, bytes memory ret) = _as(who, abi.encodeCall(ICoGovFund.claimRefund, (receiptId)));
        if (!ok) return;
        refunds++;
        ghostRefunded += abi.decode(ret, (uint256));
    }

    /// Record the decisions of one project's motions past their deadline: no view may change.
    function settle(uint256 actorSeed, uint256 projectSeed) external {
        uint256 projectId = _pick(projectSeed, fund.projectCount());
        if (projectId == 0) return;
        uint64 who = actorSeed % 4 == 0 ? _anyone(actorSeed >> 8) : FundCast.COMMITTEE_A;
        bytes32 before = _views(projectId);
        (bool ok,) = _as(who, abi.encodeCall(ICoGovFund.settle, (projectId)));
        if (!ok) return;
        settled++;
        if (_views(projectId) != before) settleViolations++;
    }

    function _views(uint256 projectId) private view returns (bytes32) {
        ICoGovFund.ProjectView memory p = fund.getProject(projectId);
        bytes memory all = abi.encode(p, fund.available(projectId));
        uint256 n = fund.motionCount();
        for (uint256 id = 1; id <= n; id++) {
            ICoGovFund.MotionView memory m = fund.getMotion(id);
            if (m.projectId == projectId) all = abi.encode(all, m);
        }
        return keccak256(all);
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % 18 hours);
    }
}

/// @notice Invariants of the co-governance fund.
contract FundInvariantsTest is InvariantBase {
    MembershipRegistry internal reg;
    CommunityCredit internal token;
    CoGovFund internal fund;
    FundHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        uint16 committee = uint16(1 << uint8(IMembershipRegistry.Role.FundCommittee));
        uint16 dept = uint16(1 << uint8(IMembershipRegistry.Role.Department));
        uint16 treasurer = uint16(1 << uint8(IMembershipRegistry.Role.Treasurer));
        uint16 contributor = uint16(1 << uint8(IMembershipRegistry.Role.Contributor));
        IMembershipRegistry.MemberKind D = IMembershipRegistry.MemberKind.Department;
        IMembershipRegistry.MemberKind E = IMembershipRegistry.MemberKind.Enterprise;
        IMembershipRegistry.Seat[] memory seats = new IMembershipRegistry.Seat[](10);
        seats[0] = IMembershipRegistry.Seat("council", D, 0, FundCast.account(1));
        seats[1] = IMembershipRegistry.Seat("committee+dept", D, committee | dept, FundCast.account(2));
        seats[2] = IMembershipRegistry.Seat("committee a", D, committee, FundCast.account(3));
        seats[3] = IMembershipRegistry.Seat("committee b", D, committee, FundCast.account(4));
        seats[4] = IMembershipRegistry.Seat("committee c", D, committee, FundCast.account(5));
        seats[5] = IMembershipRegistry.Seat("department", D, dept, FundCast.account(6));
        seats[6] = IMembershipRegistry.Seat("treasurer", D, treasurer, FundCast.account(7));
        seats[7] = IMembershipRegistry.Seat("enterprise", E, contributor, FundCast.account(8));
        seats[8] =
            IMembershipRegistry.Seat("residents", IMembershipRegistry.MemberKind.ResidentGroup, contributor, FundCast.account(9));
        seats[9] = IMembershipRegistry.Seat("beneficiary", E, committee, FundCast.account(10));
        reg = new MembershipRegistry(seats, 3, 1 days);
        token = new CommunityCredit(reg, "Community Credit", "CC");
        fund = new CoGovFund(reg, token, FundCast.QUORUM, FundCast.TIME_LOCK, FundCast.VOTING_PERIOD);
        for (uint64 id = 1; id <= 10; id++) {
            vm.prank(FundCast.account(FundCast.TREASURER));
            token.mint(FundCast.account(id), 1e12, keccak256(abi.encode("deposit", id)));
            vm.prank(FundCast.account(id));
            token.approve(address(fund), type(uint256).max);
        }
        handler = new FundHandler(fund, token, reg);
        targetContract(address(handler));
    }

    /// @dev token.balanceOf(fund) == Σcontributions − Σpayouts − Σrefunds, by the fund's
    /// totals and by the handler's own sums of what succeeded.
    function invariant_balanceEqualsBooks() public view {
        uint256 balance = token.balanceOf(address(fund));
        assert(balance == fund.totalContributed() - fund.totalPaidOut() - fund.totalRefunded());
        assert(fund.totalContributed() == handler.ghostIn());
        assert(fund.totalPaidOut() == handler.ghostPaid());
        assert(fund.totalRefunded() == handler.ghostRefunded());
    }

    /// @dev No payout without quorum, before the time lock, above its milestone or above the
    /// project's money; per project, paid ≤ budget, Σ milestones paid == paid, and each source
    /// (earmarked, allocated, general pool) never spent beyond what it holds.
    function invariant_payoutBounds() public view {
        assert(handler.payoutViolations() == 0);
        uint256 n = fund.projectCount();
        for (uint256 id = 1; id <= n; id++) {
            ICoGovFund.ProjectView memory p = fund.getProject(id);
            uint256 sum;
            for (uint256 i = 0; i < p.milestoneCount; i++) {
                ICoGovFund.MilestoneView memory m = fund.getMilestone(id, i);
                assert(m.paid <= m.amount);
                sum += m.paid;
            }
            assert(sum == p.paid && p.paid <= p.budget);
            assert(p.paid == p.earmarkedSpent + p.allocatedSpent);
            assert(p.earmarkedSpent + p.refunded <= p.earmarked);
            assert(p.allocatedSpent + p.allocationReleased <= p.allocated);
        }
        (uint256 total, uint256 spent, uint256 committed,) = fund.generalPool();
        assert(spent + committed <= total);
    }

    /// @dev The decision rule: an open motion is before its deadline; a passed one had quorum
    /// and a majority of approvals; a failed one did not; a decision never later than the
    /// deadline; recording decisions (settle) never changes a view.
    function invariant_motionsDecidedByTheRule() public view {
        assert(handler.settleViolations() == 0);
        uint256 n = fund.motionCount();
        for (uint256 id = 1; id <= n; id++) {
            ICoGovFund.MotionView memory m = fund.getMotion(id);
            assert(m.deadline == m.createdAt + FundCast.VOTING_PERIOD);
            bool majority = uint256(m.approvals) + m.rejections >= FundCast.QUORUM && m.approvals > m.rejections;
            if (m.state == ICoGovFund.MotionState.Open) assert(block.timestamp < m.deadline);
            if (m.state == ICoGovFund.MotionState.Passed) assert(majority && m.decidedAt <= m.deadline);
            if (m.state == ICoGovFund.MotionState.Failed) assert(!majority && m.decidedAt <= m.deadline);
        }
    }

    /// @dev The proposer's member and the beneficiary's member never vote on their project.
    function invariant_noSelfVote() public view {
        assert(handler.voteViolations() == 0);
        uint256 n = fund.motionCount();
        for (uint256 id = 1; id <= n; id++) {
            ICoGovFund.ProjectView memory p = fund.getProject(fund.getMotion(id).projectId);
            assert(!fund.hasVoted(id, p.proposerId));
            uint64 beneficiaryId = reg.memberIdOf(p.beneficiary);
            if (beneficiaryId != 0) assert(!fund.hasVoted(id, beneficiaryId));
        }
    }
}
