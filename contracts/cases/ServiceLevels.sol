// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {ICaseDesk} from "./ICaseDesk.sol";

/// @title ServiceLevels
/// @notice The categories' service levels of {ICaseDesk}, changed by council proposals.
/// @dev An in-contract proposal rather than a registry ChangeKind: the registry would have to
/// call out to this contract (a generic call change, a wider power than any it has now); here
/// the registry stays the one source of who is on the council and of its threshold, and this
/// contract counts, like the registry's own `approvalCount`, only approvers on the council now.
abstract contract ServiceLevels is ICaseDesk {
    uint32 private constant _MAX_SERVICE_SECONDS = 365 days;

    /// @dev One slot: what a dispatch copies.
    struct Level {
        uint32 ackSeconds;
        uint32 resolveSeconds;
    }

    /// @dev The header is one slot; `lifetime` is the registry's proposal lifetime when proposed.
    struct Proposal {
        uint16 category;
        bool applied;
        uint32 ackSeconds;
        uint32 resolveSeconds;
        uint48 createdAt;
        uint48 lifetime;
        uint64 proposerId;
        uint64[] approvers; // distinct member ids
    }

    IMembershipRegistry internal immutable _registry;

    mapping(uint16 category => Level) internal _levels;
    mapping(uint256 proposalId => Proposal) private _proposals;
    uint256 private _proposalCount;

    constructor(IMembershipRegistry registry_, CategorySpec[] memory categories) {
        if (address(registry_) == address(0)) revert CaseZeroAddress();
        _registry = registry_;
        for (uint256 i = 0; i < categories.length; i++) {
            CategorySpec memory s = categories[i];
            _checkServiceLevel(s.category, s.ackSeconds, s.resolveSeconds);
            _setLevel(s.category, s.ackSeconds, s.resolveSeconds, 0);
        }
    }

    /// @inheritdoc ICaseDesk
    function proposeServiceLevel(uint16 category, uint32 ackSeconds, uint32 resolveSeconds)
        external
        returns (uint256 proposalId)
    {
        uint64 memberId = _requireRole(IMembershipRegistry.Role.Council);
        _checkServiceLevel(category, ackSeconds, resolveSeconds);
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        uint48 lifetime = _registry.proposalLifetime();
        p.category = category;
        p.ackSeconds = ackSeconds;
        p.resolveSeconds = resolveSeconds;
        p.createdAt = uint48(block.timestamp);
        p.lifetime = lifetime;
        p.proposerId = memberId;
        emit ServiceLevelProposed(
            proposalId, category, ackSeconds, resolveSeconds, memberId, msg.sender, uint48(block.timestamp) + lifetime
        );
        _approve(proposalId, p, memberId);
    }

    /// @inheritdoc ICaseDesk
    function approveServiceLevel(uint256 proposalId) external {
        uint64 memberId = _requireRole(IMembershipRegistry.Role.Council);
        Proposal storage p = _proposal(proposalId);
        ProposalState st = _proposalState(p);
        if (st != ProposalState.Open) revert CaseProposalNotOpen(proposalId, st);
        _approve(proposalId, p, memberId);
    }

    /// @inheritdoc ICaseDesk
    function serviceLevel(uint16 category) external view returns (uint32 ackSeconds, uint32 resolveSeconds) {
        Level storage l = _levels[category];
        return (l.ackSeconds, l.resolveSeconds);
    }

    /// @inheritdoc ICaseDesk
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc ICaseDesk
    function proposalState(uint256 proposalId) external view returns (ProposalState) {
        return _proposalState(_proposal(proposalId));
    }

    /// @inheritdoc ICaseDesk
    function getProposal(uint256 proposalId) external view returns (ProposalView memory) {
        Proposal storage p = _proposal(proposalId);
        return ProposalView(
            proposalId,
            p.category,
            p.ackSeconds,
            p.resolveSeconds,
            p.proposerId,
            p.createdAt,
            p.createdAt + p.lifetime,
            p.approvers,
            _approvals(p),
            _proposalState(p)
        );
    }

    /// @dev The caller's member id, if it is an active account of a member holding `role`.
    function _requireRole(IMembershipRegistry.Role role) internal view returns (uint64 memberId) {
        uint16 roles;
        bool active;
        (memberId, roles, active) = _caller();
        if (!active || roles & _bit(role) == 0) revert CaseMissingRole(msg.sender, role);
    }

    /// @dev The caller's member id (0: none), its roles and whether the account is active: the one
    /// place that asks the registry who the caller is.
    function _caller() internal view returns (uint64 memberId, uint16 roles, bool active) {
        (memberId,, roles, active) = _registry.accountInfo(msg.sender);
    }

    function _bit(IMembershipRegistry.Role role) internal pure returns (uint16) {
        return uint16(1) << uint8(role);
    }

    function _approve(uint256 proposalId, Proposal storage p, uint64 memberId) private {
        uint64[] storage approvers = p.approvers;
        uint256 n = approvers.length;
        for (uint256 i = 0; i < n; i++) {
            if (approvers[i] == memberId) revert CaseAlreadyApproved(proposalId, memberId);
        }
        approvers.push(memberId);
        emit ServiceLevelApproved(proposalId, memberId, msg.sender);
        if (_approvals(p) >= _registry.threshold()) {
            // Marked applied before the level changes, so a proposal applies once.
            p.applied = true;
            _setLevel(p.category, p.ackSeconds, p.resolveSeconds, proposalId);
        }
    }

    function _setLevel(uint16 category, uint32 ackSeconds, uint32 resolveSeconds, uint256 proposalId) private {
        Level storage l = _levels[category];
        emit ServiceLevelSet(category, l.ackSeconds, l.resolveSeconds, ackSeconds, resolveSeconds, proposalId);
        l.ackSeconds = ackSeconds;
        l.resolveSeconds = resolveSeconds;
    }

    /// @dev Approvers who are active council members now.
    function _approvals(Proposal storage p) private view returns (uint256 n) {
        uint64[] storage approvers = p.approvers;
        for (uint256 i = 0; i < approvers.length; i++) {
            (uint16 roles, bool active) = _registry.memberRoles(approvers[i]);
            if (active && roles & _bit(IMembershipRegistry.Role.Council) != 0) n++;
        }
    }

    function _proposalState(Proposal storage p) private view returns (ProposalState) {
        if (p.applied) return ProposalState.Applied;
        if (block.timestamp >= uint256(p.createdAt) + p.lifetime) return ProposalState.Expired;
        return ProposalState.Open;
    }

    function _proposal(uint256 proposalId) private view returns (Proposal storage p) {
        p = _proposals[proposalId];
        if (p.createdAt == 0) revert CaseUnknownProposal(proposalId);
    }

    function _checkServiceLevel(uint16 category, uint32 ackSeconds, uint32 resolveSeconds) private pure {
        bool retire = ackSeconds == 0 && resolveSeconds == 0;
        if (!retire && (ackSeconds == 0 || ackSeconds > resolveSeconds || resolveSeconds > _MAX_SERVICE_SECONDS)) {
            revert CaseInvalidServiceLevel(category, ackSeconds, resolveSeconds);
        }
    }
}
