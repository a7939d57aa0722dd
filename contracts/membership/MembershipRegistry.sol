// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "./IMembershipRegistry.sol";

/// @title MembershipRegistry
/// @notice Members, roles, accounts, data keys and nodes, changed only by council proposals.
/// @dev The deployer seats the first council in the constructor and keeps no power after it.
contract MembershipRegistry is IMembershipRegistry {
    uint48 private constant _MIN_LIFETIME = 1 hours;
    uint48 private constant _MAX_LIFETIME = 365 days;
    uint8 private constant _ROLE_COUNT = 10;
    uint8 private constant _KIND_COUNT = 4;

    struct Member {
        string name;
        MemberKind kind;
        uint16 roles;
        bool active;
        uint48 admittedAt;
        bytes32 dataKey;
        address[] accounts;
        bytes32[] nodes;
    }

    struct Node {
        uint64 memberId;
        string enodeId;
        string ip;
        uint16 port;
    }

    /// @dev An account is bound to its member forever (history stays unambiguous); `current`
    /// says whether it is still one of the member's accounts. One slot, so a role check reads
    /// it and the member's flags only, without scanning the member's account list.
    struct Account {
        uint64 memberId;
        bool current;
    }

    /// @dev Open, executed or cancelled: the stored part of a proposal's lifecycle (the rest,
    /// Approved and Expired, is derived by {proposalState}). One byte instead of two flags so
    /// that the proposal's header fits one slot.
    enum Closure {
        Open,
        Executed,
        Cancelled
    }

    /// @dev The header is one slot (1 + 1 + 20 + 6 + 4 bytes). The proposer's member id is not
    /// stored: an account's member binding never changes, so it is `_accounts[proposer]`.
    /// `lifetime` (expiresAt - createdAt) is at most `_MAX_LIFETIME`, which fits 32 bits.
    struct Proposal {
        ChangeKind kind;
        Closure closure;
        address proposer;
        uint48 createdAt;
        uint32 lifetime;
        bytes data;
        uint64[] approvers; // distinct member ids: an approval is refused if the id is here
    }

    mapping(uint64 memberId => Member) private _members;
    mapping(address account => Account) private _accounts;
    mapping(bytes32 nodeKey => Node) private _nodes;
    mapping(uint256 proposalId => Proposal) private _proposals;

    // Packed: propose reads the count and the lifetime from one slot, and a proposal's state
    // the threshold. 64-bit counts are never reached (one increment per transaction, checked).
    uint64 private _memberCount;
    uint64 private _proposalCount;
    uint48 private _proposalLifetime;
    uint64 private _threshold;
    uint64 private _councilSize;

    /// @param seats The first council; each seat gets the council role on top of its roles.
    /// @param threshold_ Approvals needed, between 1 and the number of seats.
    /// @param proposalLifetime_ Seconds a proposal stays open.
    constructor(Seat[] memory seats, uint256 threshold_, uint48 proposalLifetime_) {
        for (uint256 i = 0; i < seats.length; i++) {
            Seat memory s = seats[i];
            _checkAdmit(s.name, uint8(s.kind), s.roles, s.account);
            _admit(s.name, s.kind, s.roles | _bit(Role.Council), s.account);
        }
        _setThreshold(threshold_);
        _setLifetime(proposalLifetime_);
    }

    // ------------------------------------------------------------------ proposals

    /// @inheritdoc IMembershipRegistry
    function propose(ChangeKind kind, bytes calldata data) external returns (uint256 proposalId) {
        uint64 memberId = _requireCouncil(msg.sender);
        _validate(kind, data);
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        uint48 lifetime = _proposalLifetime;
        p.kind = kind;
        p.proposer = msg.sender;
        p.createdAt = uint48(block.timestamp);
        p.lifetime = uint32(lifetime); // <= _MAX_LIFETIME (checked by _setLifetime): fits
        p.data = data;
        emit ProposalCreated(proposalId, memberId, msg.sender, kind, data, uint48(block.timestamp) + lifetime);
        _approve(proposalId, memberId);
    }

    /// @inheritdoc IMembershipRegistry
    function approve(uint256 proposalId) external {
        uint64 memberId = _requireCouncil(msg.sender);
        _requireOpen(proposalId);
        _approve(proposalId, memberId);
    }

    /// @inheritdoc IMembershipRegistry
    function execute(uint256 proposalId) external {
        _requireCouncil(msg.sender);
        ProposalState st = _requireOpen(proposalId);
        if (st != ProposalState.Approved) {
            revert RegistryThresholdNotMet(proposalId, approvalCount(proposalId), _threshold);
        }
        Proposal storage p = _proposals[proposalId];
        // Marked before the change is applied, so a proposal can never run twice.
        p.closure = Closure.Executed;
        _apply(p.kind, p.data);
        emit ProposalExecuted(proposalId);
    }

    /// @inheritdoc IMembershipRegistry
    function cancel(uint256 proposalId) external {
        _requireOpen(proposalId);
        Proposal storage p = _proposals[proposalId];
        if (_accounts[msg.sender].memberId != _accounts[p.proposer].memberId || !_isActiveAccount(msg.sender)) {
            revert RegistryNotProposer(proposalId, msg.sender);
        }
        p.closure = Closure.Cancelled;
        emit ProposalCancelled(proposalId);
    }

    function _approve(uint256 proposalId, uint64 memberId) private {
        // The approver list holds at most one entry per council member (four ids a slot), so
        // scanning it is cheaper than a separate approved-flag slot per member.
        uint64[] storage approvers = _proposals[proposalId].approvers;
        uint256 n = approvers.length;
        for (uint256 i = 0; i < n; i++) {
            if (approvers[i] == memberId) revert RegistryAlreadyApproved(proposalId, memberId);
        }
        approvers.push(memberId);
        emit ProposalApproved(proposalId, memberId, msg.sender);
    }

    function _requireOpen(uint256 proposalId) private view returns (ProposalState st) {
        st = proposalState(proposalId);
        if (st != ProposalState.Pending && st != ProposalState.Approved) {
            revert RegistryProposalNotOpen(proposalId, st);
        }
    }

    function _requireCouncil(address account) private view returns (uint64 memberId) {
        memberId = _accounts[account].memberId;
        // The account itself must still be current: a rotated-out (possibly compromised) key
        // stays bound to its member for history, but must lose the member's council power.
        if (!_isActiveAccount(account) || _members[memberId].roles & _bit(Role.Council) == 0) {
            revert RegistryNotCouncil(account);
        }
    }

    // ------------------------------------------------------------------ changes

    /// @dev Checks a change against the current state, reverting with the reason. Called at
    /// propose time (early feedback) and again, through `_apply`, at execution.
    function _validate(ChangeKind kind, bytes calldata data) private view {
        // abi.decode of a short payload reverts without data; refuse it with a custom error.
        if (data.length < _minPayloadLength(kind)) revert RegistryInvalidChange(kind);
        if (kind == ChangeKind.AdmitMember) {
            (string memory name, uint8 k, uint16 roles, address account) =
                abi.decode(data, (string, uint8, uint16, address));
            _checkAdmit(name, k, roles, account);
        } else if (kind == ChangeKind.RemoveMember) {
            uint64 id = abi.decode(data, (uint64));
            _checkActive(id);
            if (_members[id].roles & _bit(Role.Council) != 0) _checkCouncilAfterLoss();
        } else if (kind == ChangeKind.GrantRole || kind == ChangeKind.RevokeRole) {
            (uint64 id, uint8 role) = abi.decode(data, (uint64, uint8));
            _checkRoleChange(id, role, kind == ChangeKind.GrantRole);
        } else if (kind == ChangeKind.AddAccount) {
            (uint64 id, address account) = abi.decode(data, (uint64, address));
            _checkActive(id);
            _checkFreeAccount(account);
        } else if (kind == ChangeKind.RemoveAccount) {
            (uint64 id, address account) = abi.decode(data, (uint64, address));
            _checkRemoveAccount(id, account);
        } else if (kind == ChangeKind.SetDataKey) {
            (uint64 id,) = abi.decode(data, (uint64, bytes32));
            _checkActive(id);
        } else if (kind == ChangeKind.AddNode || kind == ChangeKind.RemoveNode) {
            (uint64 id, string memory enodeId, string memory ip, uint16 port) =
                abi.decode(data, (uint64, string, string, uint16));
            if (kind == ChangeKind.AddNode) _checkNodeFormat(enodeId, ip, port);
            _checkNodeChange(id, nodeKey(enodeId, ip, port), kind == ChangeKind.AddNode);
        } else if (kind == ChangeKind.SetThreshold) {
            _checkThreshold(abi.decode(data, (uint256)));
        } else {
            _checkLifetime(abi.decode(data, (uint48)));
        }
    }

    function _apply(ChangeKind kind, bytes memory data) private {
        if (kind == ChangeKind.AdmitMember) {
            (string memory name, uint8 k, uint16 roles, address account) =
                abi.decode(data, (string, uint8, uint16, address));
            _checkAdmit(name, k, roles, account);
            _admit(name, MemberKind(k), roles, account);
        } else if (kind == ChangeKind.RemoveMember) {
            uint64 id = abi.decode(data, (uint64));
            _checkActive(id);
            _removeMember(id);
        } else if (kind == ChangeKind.GrantRole || kind == ChangeKind.RevokeRole) {
            (uint64 id, uint8 role) = abi.decode(data, (uint64, uint8));
            bool grant = kind == ChangeKind.GrantRole;
            _checkRoleChange(id, role, grant);
            _setRole(id, Role(role), grant);
        } else if (kind == ChangeKind.AddAccount) {
            (uint64 id, address account) = abi.decode(data, (uint64, address));
            _checkActive(id);
            _checkFreeAccount(account);
            _addAccount(id, account);
        } else if (kind == ChangeKind.RemoveAccount) {
            (uint64 id, address account) = abi.decode(data, (uint64, address));
            _checkRemoveAccount(id, account);
            _removeAccount(id, account);
        } else if (kind == ChangeKind.SetDataKey) {
            (uint64 id, bytes32 key) = abi.decode(data, (uint64, bytes32));
            _checkActive(id);
            emit DataKeySet(id, _members[id].dataKey, key);
            _members[id].dataKey = key;
        } else if (kind == ChangeKind.AddNode || kind == ChangeKind.RemoveNode) {
            (uint64 id, string memory enodeId, string memory ip, uint16 port) =
                abi.decode(data, (uint64, string, string, uint16));
            bytes32 key = nodeKey(enodeId, ip, port);
            _checkNodeChange(id, key, kind == ChangeKind.AddNode);
            if (kind == ChangeKind.AddNode) _addNode(id, key, enodeId, ip, port);
            else _removeNode(id, key);
        } else if (kind == ChangeKind.SetThreshold) {
            _setThreshold(abi.decode(data, (uint256)));
        } else {
            _setLifetime(abi.decode(data, (uint48)));
        }
    }

    function _checkAdmit(string memory name, uint8 kind, uint16 roles, address account) private view {
        if (bytes(name).length == 0) revert RegistryEmptyName();
        if (kind >= _KIND_COUNT || roles >> _ROLE_COUNT != 0) revert RegistryInvalidChange(ChangeKind.AdmitMember);
        _checkFreeAccount(account);
    }

    function _checkActive(uint64 id) private view {
        if (id == 0 || id > _memberCount) revert RegistryUnknownMember(id);
        if (!_members[id].active) revert RegistryMemberInactive(id);
    }

    function _checkFreeAccount(address account) private view {
        if (account == address(0)) revert RegistryZeroAccount();
        uint64 owner = _accounts[account].memberId;
        if (owner != 0) revert RegistryAccountTaken(account, owner);
    }

    function _checkRoleChange(uint64 id, uint8 role, bool grant) private view {
        if (role >= _ROLE_COUNT) revert RegistryInvalidChange(grant ? ChangeKind.GrantRole : ChangeKind.RevokeRole);
        _checkActive(id);
        bool has = _members[id].roles & _bit(Role(role)) != 0;
        if (has == grant) revert RegistryRoleUnchanged(id, Role(role));
        if (!grant && Role(role) == Role.Council) _checkCouncilAfterLoss();
    }

    function _checkRemoveAccount(uint64 id, address account) private view {
        _checkActive(id);
        if (!_hasAccount(id, account)) revert RegistryAccountNotOfMember(account, id);
        if (_members[id].accounts.length == 1) revert RegistryLastAccount(id);
    }

    function _checkNodeFormat(string memory enodeId, string memory ip, uint16 port) private pure {
        if (!_isEnodeId(enodeId) || !_isHost(ip) || port == 0) revert RegistryInvalidChange(ChangeKind.AddNode);
    }

    function _checkNodeChange(uint64 id, bytes32 key, bool add) private view {
        _checkActive(id);
        uint64 owner = _nodes[key].memberId;
        if (add && owner != 0) revert RegistryNodeTaken(key, owner);
        if (!add && owner != id) revert RegistryUnknownNode(key, id);
    }

    function _checkCouncilAfterLoss() private view {
        if (_councilSize - 1 < _threshold) revert RegistryCouncilBelowThreshold(_councilSize - 1, _threshold);
    }

    function _checkThreshold(uint256 t) private view {
        if (t == 0 || t > _councilSize) revert RegistryInvalidThreshold(t, _councilSize);
    }

    function _checkLifetime(uint48 lifetime) private pure {
        if (lifetime < _MIN_LIFETIME || lifetime > _MAX_LIFETIME) revert RegistryInvalidLifetime(lifetime);
    }

    /// @dev Callers validate first with `_checkAdmit` (the kind must be range-checked before
    /// it is converted to the enum).
    function _admit(string memory name, MemberKind kind, uint16 roles, address account) private {
        uint64 id = ++_memberCount;
        Member storage m = _members[id];
        m.name = name;
        m.kind = kind;
        m.roles = roles;
        m.active = true;
        m.admittedAt = uint48(block.timestamp);
        m.accounts.push(account);
        _accounts[account] = Account(id, true);
        if (roles & _bit(Role.Council) != 0) _councilSize++;
        emit MemberAdmitted(id, name, kind, roles, account);
        emit AccountAdded(id, account);
    }

    function _removeMember(uint64 id) private {
        Member storage m = _members[id];
        if (m.roles & _bit(Role.Council) != 0) {
            _checkCouncilAfterLoss();
            _councilSize--;
        }
        // Accounts stay bound to the member id (history), but are inactive with it.
        m.active = false;
        // Its nodes lose their permission with it.
        for (uint256 i = m.nodes.length; i > 0; i--) {
            bytes32 key = m.nodes[i - 1];
            delete _nodes[key];
            emit NodeRemoved(id, key);
        }
        delete m.nodes;
        emit MemberRemoved(id);
    }

    function _setRole(uint64 id, Role role, bool grant) private {
        Member storage m = _members[id];
        if (grant) {
            m.roles |= _bit(role);
            if (role == Role.Council) _councilSize++;
            emit RoleGranted(id, role);
        } else {
            m.roles &= ~_bit(role);
            if (role == Role.Council) _councilSize--;
            emit RoleRevoked(id, role);
        }
    }

    function _addAccount(uint64 id, address account) private {
        _members[id].accounts.push(account);
        _accounts[account] = Account(id, true);
        emit AccountAdded(id, account);
    }

    function _removeAccount(uint64 id, address account) private {
        address[] storage accounts = _members[id].accounts;
        for (uint256 i = 0; i < accounts.length; i++) {
            if (accounts[i] == account) {
                accounts[i] = accounts[accounts.length - 1];
                accounts.pop();
                break;
            }
        }
        // The account stays bound to this member so it can never be reused by another one
        // (history stays unambiguous); it is simply no longer one of the member's accounts.
        _accounts[account].current = false;
        emit AccountRemoved(id, account);
    }

    function _addNode(uint64 id, bytes32 key, string memory enodeId, string memory ip, uint16 port) private {
        _nodes[key] = Node(id, enodeId, ip, port);
        _members[id].nodes.push(key);
        emit NodeAdded(id, key, enodeId, ip, port);
    }

    function _removeNode(uint64 id, bytes32 key) private {
        bytes32[] storage nodes = _members[id].nodes;
        for (uint256 i = 0; i < nodes.length; i++) {
            if (nodes[i] == key) {
                nodes[i] = nodes[nodes.length - 1];
                nodes.pop();
                break;
            }
        }
        delete _nodes[key];
        emit NodeRemoved(id, key);
    }

    function _setThreshold(uint256 t) private {
        _checkThreshold(t);
        emit ThresholdChanged(_threshold, t);
        _threshold = uint64(t); // t <= _councilSize, checked by _checkThreshold
    }

    function _setLifetime(uint48 lifetime) private {
        _checkLifetime(lifetime);
        emit ProposalLifetimeChanged(_proposalLifetime, lifetime);
        _proposalLifetime = lifetime;
    }

    /// @dev Head size of each payload: 32 bytes per static argument or dynamic offset.
    function _minPayloadLength(ChangeKind kind) private pure returns (uint256) {
        if (kind == ChangeKind.AdmitMember || kind == ChangeKind.AddNode || kind == ChangeKind.RemoveNode) {
            return 4 * 32;
        }
        if (
            kind == ChangeKind.RemoveMember || kind == ChangeKind.SetThreshold
                || kind == ChangeKind.SetProposalLifetime
        ) return 32;
        return 2 * 32;
    }

    /// @dev An enode id as Besu prints it: the 64-byte node public key, 128 lowercase hex digits.
    function _isEnodeId(string memory enodeId) private pure returns (bool) {
        bytes memory b = bytes(enodeId);
        if (b.length != 128) return false;
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            if (!((c >= "0" && c <= "9") || (c >= "a" && c <= "f"))) return false;
        }
        return true;
    }

    /// @dev An IPv4 or IPv6 address or a host name: 1..64 of [0-9A-Za-z.:-], so it can never
    /// break the enode URL or the TOML string it is written into.
    function _isHost(string memory host) private pure returns (bool) {
        bytes memory b = bytes(host);
        if (b.length == 0 || b.length > 64) return false;
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "0" && c <= "9") || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "."
                || c == ":" || c == "-";
            if (!ok) return false;
        }
        return true;
    }

    function _bit(Role role) private pure returns (uint16) {
        return uint16(1) << uint8(role);
    }

    /// @dev `current` implies a non-zero member id (only admitted accounts are ever current).
    function _isActiveAccount(address account) private view returns (bool) {
        Account storage a = _accounts[account];
        return a.current && _members[a.memberId].active;
    }

    function _hasAccount(uint64 id, address account) private view returns (bool) {
        Account storage a = _accounts[account];
        return a.current && a.memberId == id;
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMembershipRegistry
    function hasRole(address account, Role role) external view returns (bool) {
        return _isActiveAccount(account) && _members[_accounts[account].memberId].roles & _bit(role) != 0;
    }

    /// @inheritdoc IMembershipRegistry
    function accountInfo(address account)
        external
        view
        returns (uint64 memberId, MemberKind kind, uint16 roles, bool active)
    {
        memberId = _accounts[account].memberId;
        Member storage m = _members[memberId];
        return (memberId, m.kind, m.roles, _isActiveAccount(account));
    }

    /// @inheritdoc IMembershipRegistry
    function memberIdOf(address account) external view returns (uint64) {
        return _accounts[account].memberId;
    }

    /// @inheritdoc IMembershipRegistry
    function memberRoles(uint64 memberId) external view returns (uint16 roles, bool active) {
        Member storage m = _members[memberId];
        return (m.roles, m.active);
    }

    /// @inheritdoc IMembershipRegistry
    function getMember(uint64 memberId) external view returns (MemberView memory) {
        if (memberId == 0 || memberId > _memberCount) revert RegistryUnknownMember(memberId);
        Member storage m = _members[memberId];
        return MemberView(memberId, m.name, m.kind, m.roles, m.active, m.dataKey, m.admittedAt, m.accounts, m.nodes);
    }

    /// @inheritdoc IMembershipRegistry
    function memberCount() external view returns (uint64) {
        return _memberCount;
    }

    /// @inheritdoc IMembershipRegistry
    function membersWithRole(Role role) external view returns (uint64[] memory ids) {
        uint256 n;
        ids = new uint64[](_memberCount);
        for (uint64 id = 1; id <= _memberCount; id++) {
            if (_members[id].active && _members[id].roles & _bit(role) != 0) ids[n++] = id;
        }
        assembly ("memory-safe") {
            mstore(ids, n)
        }
    }

    /// @inheritdoc IMembershipRegistry
    function getNode(bytes32 key) external view returns (NodeView memory) {
        Node storage n = _nodes[key];
        return NodeView(n.memberId, n.enodeId, n.ip, n.port);
    }

    /// @inheritdoc IMembershipRegistry
    function nodeKey(string memory enodeId, string memory ip, uint16 port) public pure returns (bytes32) {
        return keccak256(abi.encode(enodeId, ip, port));
    }

    /// @inheritdoc IMembershipRegistry
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IMembershipRegistry
    function councilSize() external view returns (uint256) {
        return _councilSize;
    }

    /// @inheritdoc IMembershipRegistry
    function proposalLifetime() external view returns (uint48) {
        return _proposalLifetime;
    }

    /// @inheritdoc IMembershipRegistry
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IMembershipRegistry
    function proposalState(uint256 proposalId) public view returns (ProposalState) {
        if (proposalId == 0 || proposalId > _proposalCount) revert RegistryUnknownProposal(proposalId);
        Proposal storage p = _proposals[proposalId];
        Closure closure = p.closure;
        if (closure == Closure.Executed) return ProposalState.Executed;
        if (closure == Closure.Cancelled) return ProposalState.Cancelled;
        if (block.timestamp >= uint256(p.createdAt) + p.lifetime) return ProposalState.Expired;
        if (approvalCount(proposalId) >= _threshold) return ProposalState.Approved;
        return ProposalState.Pending;
    }

    /// @inheritdoc IMembershipRegistry
    function approvalCount(uint256 proposalId) public view returns (uint256 n) {
        uint64[] storage approvers = _proposals[proposalId].approvers;
        for (uint256 i = 0; i < approvers.length; i++) {
            Member storage m = _members[approvers[i]];
            if (m.active && m.roles & _bit(Role.Council) != 0) n++;
        }
    }

    /// @inheritdoc IMembershipRegistry
    function getProposal(uint256 proposalId) external view returns (ProposalView memory) {
        ProposalState st = proposalState(proposalId);
        Proposal storage p = _proposals[proposalId];
        return ProposalView(
            proposalId,
            p.kind,
            p.data,
            _accounts[p.proposer].memberId,
            p.proposer,
            p.createdAt,
            p.createdAt + p.lifetime,
            p.closure == Closure.Executed,
            p.closure == Closure.Cancelled,
            approvalCount(proposalId),
            p.approvers,
            st
        );
    }

    /// @inheritdoc IMembershipRegistry
    function transactionAllowed(address sender, address, uint256, uint256, uint256, bytes calldata)
        external
        view
        returns (bool)
    {
        return _isActiveAccount(sender);
    }

    /// @inheritdoc IMembershipRegistry
    function connectionAllowed(string calldata enodeId, string calldata enodeIp, uint16 enodePort)
        external
        view
        returns (bool)
    {
        uint64 id = _nodes[nodeKey(enodeId, enodeIp, enodePort)].memberId;
        return id != 0 && _members[id].active;
    }
}
