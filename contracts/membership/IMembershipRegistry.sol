// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Membership registry of the CoGov permissioned ledger
/// @notice Organisations (members) with roles, accounts, a data key and nodes. Every
/// change is a council proposal: propose -> approvals by distinct council members ->
/// execute once the threshold is met. No single key decides who is inside.
interface IMembershipRegistry {
    enum MemberKind {
        Department,
        Enterprise,
        ResidentGroup,
        Auditor
    }

    enum Role {
        Council,
        Department,
        DataGovernance,
        FundCommittee,
        Treasurer,
        Auditor,
        Contributor,
        SubDistrict, // raises cases (吹哨) and evaluates their answers (contracts/cases)
        District, // takes escalated cases (兜底)
        Channel // the channel that took residents' reports (12345, Open311): records their satisfaction
    }

    enum ChangeKind {
        AdmitMember, // (string name, uint8 kind, uint16 roles, address account)
        RemoveMember, // (uint64 memberId)
        GrantRole, // (uint64 memberId, uint8 role)
        RevokeRole, // (uint64 memberId, uint8 role)
        AddAccount, // (uint64 memberId, address account)
        RemoveAccount, // (uint64 memberId, address account)
        SetDataKey, // (uint64 memberId, bytes32 x25519PublicKey)
        AddNode, // (uint64 memberId, string enodeId, string ip, uint16 port)
        RemoveNode, // (uint64 memberId, string enodeId, string ip, uint16 port)
        SetThreshold, // (uint256 threshold)
        SetProposalLifetime // (uint48 seconds)
    }

    /// @dev Derived from stored timestamps and flags by {proposalState}, never stored.
    enum ProposalState {
        Pending,
        Approved,
        Executed,
        Cancelled,
        Expired
    }

    struct Seat {
        string name;
        MemberKind kind;
        uint16 roles;
        address account;
    }

    struct MemberView {
        uint64 id;
        string name;
        MemberKind kind;
        uint16 roles;
        bool active;
        bytes32 dataKey;
        uint48 admittedAt;
        address[] accounts;
        bytes32[] nodes;
    }

    struct NodeView {
        uint64 memberId;
        string enodeId;
        string ip;
        uint16 port;
    }

    struct ProposalView {
        uint256 id;
        ChangeKind kind;
        bytes data;
        uint64 proposerId;
        address proposer;
        uint48 createdAt;
        uint48 expiresAt;
        bool executed;
        bool cancelled;
        uint256 approvals;
        uint64[] approvers;
        ProposalState state;
    }

    /// @notice The caller's account is not an active council member's.
    error RegistryNotCouncil(address account);
    /// @notice No member has this id.
    error RegistryUnknownMember(uint64 memberId);
    /// @notice The member was removed.
    error RegistryMemberInactive(uint64 memberId);
    /// @notice The account already belongs to a member (possibly a removed one).
    error RegistryAccountTaken(address account, uint64 memberId);
    /// @notice The account does not belong to the member.
    error RegistryAccountNotOfMember(address account, uint64 memberId);
    /// @notice A member must keep at least one account.
    error RegistryLastAccount(uint64 memberId);
    /// @notice The zero address cannot be an account.
    error RegistryZeroAccount();
    /// @notice A member name must not be empty.
    error RegistryEmptyName();
    /// @notice The role, kind or change kind is out of range, or the payload is malformed.
    error RegistryInvalidChange(ChangeKind kind);
    /// @notice The member already has (grant) or lacks (revoke) the role.
    error RegistryRoleUnchanged(uint64 memberId, Role role);
    /// @notice A threshold must be at least 1 and at most the council size.
    error RegistryInvalidThreshold(uint256 threshold, uint256 councilSize);
    /// @notice The change would leave fewer council members than the threshold.
    error RegistryCouncilBelowThreshold(uint256 councilSize, uint256 threshold);
    /// @notice The node is registered already.
    error RegistryNodeTaken(bytes32 nodeKey, uint64 memberId);
    /// @notice The node is not registered to the member.
    error RegistryUnknownNode(bytes32 nodeKey, uint64 memberId);
    /// @notice Proposal lifetimes must be between 1 hour and 365 days.
    error RegistryInvalidLifetime(uint48 lifetime);
    /// @notice No proposal has this id.
    error RegistryUnknownProposal(uint256 proposalId);
    /// @notice The proposal is not open for this action.
    error RegistryProposalNotOpen(uint256 proposalId, ProposalState state);
    /// @notice The member approved this proposal already.
    error RegistryAlreadyApproved(uint256 proposalId, uint64 memberId);
    /// @notice Not enough current council approvals.
    error RegistryThresholdNotMet(uint256 proposalId, uint256 approvals, uint256 threshold);
    /// @notice Only the proposer's member may cancel.
    error RegistryNotProposer(uint256 proposalId, address account);

    event MemberAdmitted(uint64 indexed memberId, string name, MemberKind kind, uint16 roles, address account);
    event MemberRemoved(uint64 indexed memberId);
    event RoleGranted(uint64 indexed memberId, Role role);
    event RoleRevoked(uint64 indexed memberId, Role role);
    event AccountAdded(uint64 indexed memberId, address indexed account);
    event AccountRemoved(uint64 indexed memberId, address indexed account);
    event DataKeySet(uint64 indexed memberId, bytes32 oldKey, bytes32 newKey);
    event NodeAdded(uint64 indexed memberId, bytes32 indexed nodeKey, string enodeId, string ip, uint16 port);
    event NodeRemoved(uint64 indexed memberId, bytes32 indexed nodeKey);
    event ThresholdChanged(uint256 oldThreshold, uint256 newThreshold);
    event ProposalLifetimeChanged(uint48 oldLifetime, uint48 newLifetime);
    event ProposalCreated(
        uint256 indexed proposalId, uint64 indexed proposerId, address proposer, ChangeKind kind, bytes data, uint48 expiresAt
    );
    event ProposalApproved(uint256 indexed proposalId, uint64 indexed memberId, address account);
    event ProposalExecuted(uint256 indexed proposalId);
    event ProposalCancelled(uint256 indexed proposalId);

    /// @notice Propose a change; the proposer's approval is counted at once.
    function propose(ChangeKind kind, bytes calldata data) external returns (uint256 proposalId);

    /// @notice Approve a pending proposal as a council member (once per member).
    function approve(uint256 proposalId) external;

    /// @notice Execute an approved proposal; anyone on the council may do it.
    function execute(uint256 proposalId) external;

    /// @notice Cancel an open proposal; only the proposer's member.
    function cancel(uint256 proposalId) external;

    /// @notice True if `account` is an active account of an active member holding `role`.
    function hasRole(address account, Role role) external view returns (bool);

    /// @notice The member id, kind, roles and active flag of an account (id 0: unknown).
    function accountInfo(address account)
        external
        view
        returns (uint64 memberId, MemberKind kind, uint16 roles, bool active);

    function memberIdOf(address account) external view returns (uint64);
    /// @notice A member's roles and active flag by id ((0, false) for an unknown id): one call
    /// for contracts that check a member named by id, not by account.
    function memberRoles(uint64 memberId) external view returns (uint16 roles, bool active);
    function getMember(uint64 memberId) external view returns (MemberView memory);
    function memberCount() external view returns (uint64);
    function membersWithRole(Role role) external view returns (uint64[] memory);
    function getNode(bytes32 nodeKey) external view returns (NodeView memory);
    function nodeKey(string calldata enodeId, string calldata ip, uint16 port) external pure returns (bytes32);

    function threshold() external view returns (uint256);
    function councilSize() external view returns (uint256);
    function proposalLifetime() external view returns (uint48);
    function proposalCount() external view returns (uint256);
    function proposalState(uint256 proposalId) external view returns (ProposalState);
    function getProposal(uint256 proposalId) external view returns (ProposalView memory);
    /// @notice Approvals of members who are on the council now.
    function approvalCount(uint256 proposalId) external view returns (uint256);

    /// @notice Besu account permissioning: true only for an active member's account.
    function transactionAllowed(
        address sender,
        address target,
        uint256 value,
        uint256 gasPrice,
        uint256 gasLimit,
        bytes calldata payload
    ) external view returns (bool);

    /// @notice Besu node permissioning: true only for an active member's registered node.
    function connectionAllowed(string calldata enodeId, string calldata enodeIp, uint16 enodePort)
        external
        view
        returns (bool);
}
