// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";
import {IDataSharing} from "./IDataSharing.sol";

/// @title Cross-department data sharing
/// @notice See {IDataSharing}. Roles and member identities come from the membership registry.
contract DataSharing is IDataSharing {
    /// @inheritdoc IDataSharing
    uint48 public constant MAX_GRANT_DURATION = 3 * 365 days;
    /// @inheritdoc IDataSharing
    uint256 public constant MAX_TITLE_LENGTH = 256;
    /// @inheritdoc IDataSharing
    uint16 public constant MAX_PURPOSE_CODE = 12;
    uint256 private constant MAX_FIELD_COUNT = 256;
    uint48 private constant MIN_REQUEST_TTL = 1 hours;
    uint48 private constant MAX_REQUEST_TTL = 365 days;

    struct Dataset {
        uint64 ownerId;
        Classification classification;
        uint64 version;
        uint48 registeredAt;
        uint48 updatedAt;
        uint16 fieldCount;
        uint64 refusals;
        bytes32 metadataHash;
        bytes32 schemaHash;
        bytes32 contentHash;
        string title;
    }

    /// @dev requestAccess writes slots 0, 1, 4 and 5 (6 only with a row filter): the terms
    /// share the slots a request writes anyway; a denial's reason sits with the second approval.
    struct Request {
        // slot 0
        uint64 datasetId;
        uint64 requesterId;
        uint48 createdAt;
        uint48 expiresAt;
        uint16 purposeCode;
        bool noOnwardSharing;
        bool needsGovernance;
        // slot 1
        uint48 duration;
        uint48 closedAt;
        uint64 grantId;
        uint64 governanceApproverId;
        uint32 maxAccesses;
        // slots 2, 3
        address ownerApprover;
        uint48 ownerApprovedAt;
        address governanceApprover;
        uint48 governanceApprovedAt;
        uint16 denyReason;
        bool denied;
        // slots 4, 5, 6
        bytes32 purposeHash;
        uint256 fieldMask;
        bytes32 rowFilterHash;
    }

    struct Grant {
        // slot 0: everything recordAccess reads and writes but the dataset
        uint64 granteeId;
        uint48 expiresAt;
        uint48 revokedAt;
        bool frozen;
        uint64 accesses;
        // slot 1: recordAccess reads it too (dataset, limit)
        uint64 datasetId;
        uint64 requestId;
        uint48 grantedAt;
        uint32 maxAccesses; // 0: no limit
        // slot 2 (the row filter and the onward-sharing flag stay the request's; the schema hash
        // is the dataset's, which nothing changes after registration: a grant reads it there)
        uint256 fieldMask;
    }

    /// @dev One slot: a Sensitive/Secret grant's renewal waiting for data governance.
    struct Renewal {
        address requestedBy;
        uint48 extension; // 0: none pending
        uint48 requestedAt;
    }

    struct Batch {
        bytes32 merkleRoot;
        uint64 anchorerId;
        uint32 count;
        uint48 fromTime;
        uint48 toTime;
        uint48 anchoredAt;
    }

    IMembershipRegistry private immutable _registry;
    uint48 private _requestTtl;
    uint64 private _datasetCount;
    uint64 private _requestCount;
    uint64 private _grantCount;
    uint64 private _batchCount;

    mapping(uint256 datasetId => Dataset) private _datasets;
    mapping(uint256 requestId => Request) private _requests;
    mapping(uint256 grantId => Grant) private _grants;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint64 memberId => bool frozen) private _memberFrozen;
    mapping(uint256 grantId => Renewal) private _renewals;
    mapping(bytes32 contentHash => uint64 ownerId) private _contentOwners;

    /// @param registry_ The membership registry: roles and member accounts.
    /// @param requestTtl_ Seconds a request may wait for full approval (1 hour .. 365 days).
    constructor(IMembershipRegistry registry_, uint48 requestTtl_) {
        _registry = registry_;
        _setRequestTtl(requestTtl_);
    }

    // ---------------------------------------------------------------- catalog

    /// @inheritdoc IDataSharing
    function registerDataset(
        string calldata title,
        Classification classification,
        bytes32 metadataHash,
        bytes32 schemaHash,
        bytes32 contentHash,
        uint16 fieldCount
    ) external returns (uint256) {
        uint64 ownerId = _requireRole(IMembershipRegistry.Role.Department);
        return _registerDataset(ownerId, title, classification, metadataHash, schemaHash, contentHash, fieldCount);
    }

    /// @inheritdoc IDataSharing
    function updateDatasetVersion(uint256 datasetId, bytes32 newContentHash) external {
        _requireOwner(datasetId, false);
        _updateDatasetVersion(datasetId, newContentHash);
    }

    // --------------------------------------------------------------- requests

    /// @inheritdoc IDataSharing
    function requestAccess(uint256 datasetId, Terms calldata terms) external returns (uint256) {
        uint64 requesterId = _requireRole(IMembershipRegistry.Role.Department);
        return _requestAccess(requesterId, datasetId, terms);
    }

    /// @inheritdoc IDataSharing
    function withdrawRequest(uint256 requestId) external {
        Request storage r = _request(requestId);
        (uint64 memberId,,, bool active) = _registry.accountInfo(msg.sender);
        if (!active || memberId != r.requesterId) revert DataNotRequester(requestId, msg.sender);
        _closeRequest(requestId, false, 0);
    }

    /// @inheritdoc IDataSharing
    function approveAsOwner(uint256 requestId) external returns (uint256) {
        _requireOwner(_request(requestId).datasetId, true);
        return _approveAsOwner(requestId);
    }

    /// @inheritdoc IDataSharing
    function approveAsGovernance(uint256 requestId) external returns (uint256) {
        _request(requestId);
        uint64 memberId = _requireRole(IMembershipRegistry.Role.DataGovernance);
        return _approveAsGovernance(requestId, memberId);
    }

    /// @inheritdoc IDataSharing
    function denyRequest(uint256 requestId, uint16 reasonCode) external {
        _requireOwner(_request(requestId).datasetId, false);
        _closeRequest(requestId, true, reasonCode);
    }

    // ----------------------------------------------------------------- grants

    /// @inheritdoc IDataSharing
    function renewGrant(uint256 grantId, uint48 extension) external {
        _requireOwner(_grant(grantId).datasetId, true);
        _renewGrant(grantId, extension);
    }

    /// @inheritdoc IDataSharing
    function approveRenewal(uint256 grantId, uint48 extension) external {
        _grant(grantId);
        uint64 memberId = _requireRole(IMembershipRegistry.Role.DataGovernance);
        _approveRenewal(grantId, extension, memberId);
    }

    /// @inheritdoc IDataSharing
    function narrowGrant(uint256 grantId, uint256 fieldMask, uint32 maxAccesses, uint48 expiresAt) external {
        Grant storage g = _grant(grantId);
        (uint64 memberId,,, bool active) = _registry.accountInfo(msg.sender);
        if (!active || (memberId != g.granteeId && memberId != _datasets[g.datasetId].ownerId)) {
            revert DataNotGrantParty(grantId, msg.sender);
        }
        _narrowGrant(grantId, fieldMask, maxAccesses, expiresAt);
    }

    /// @inheritdoc IDataSharing
    function revokeGrant(uint256 grantId) external {
        _requireOwner(_grant(grantId).datasetId, false);
        _revokeGrant(grantId);
    }

    /// @inheritdoc IDataSharing
    function freezeGrant(uint256 grantId) external {
        _grant(grantId);
        _requireRole(IMembershipRegistry.Role.DataGovernance);
        _setGrantFrozen(grantId, true);
    }

    /// @inheritdoc IDataSharing
    function unfreezeGrant(uint256 grantId) external {
        _grant(grantId);
        _requireRole(IMembershipRegistry.Role.DataGovernance);
        _setGrantFrozen(grantId, false);
    }

    /// @inheritdoc IDataSharing
    function freezeMember(uint64 memberId) external {
        _requireRole(IMembershipRegistry.Role.DataGovernance);
        _setMemberFrozen(memberId, true);
    }

    /// @inheritdoc IDataSharing
    function unfreezeMember(uint64 memberId) external {
        _requireRole(IMembershipRegistry.Role.DataGovernance);
        _setMemberFrozen(memberId, false);
    }

    /// @inheritdoc IDataSharing
    function setRequestTtl(uint48 newTtl) external {
        _requireRole(IMembershipRegistry.Role.DataGovernance);
        _setRequestTtl(newTtl);
    }

    // ------------------------------------------------------------- access log

    /// @inheritdoc IDataSharing
    function recordAccess(uint256 grantId, bytes32 queryHash, uint64 rowCount, uint256 fieldMask)
        external
        returns (uint64)
    {
        uint256 datasetId = _grant(grantId).datasetId;
        _requireOwner(datasetId, false);
        return _recordAccess(grantId, datasetId, queryHash, rowCount, fieldMask);
    }

    /// @inheritdoc IDataSharing
    function recordRefusal(
        uint256 datasetId,
        uint256 grantId,
        uint64 requesterId,
        RefusalReason reason,
        bytes32 queryHash,
        uint32 attempts
    ) external returns (uint64) {
        _requireOwner(datasetId, false);
        return _recordRefusal(datasetId, grantId, requesterId, reason, queryHash, attempts);
    }

    /// @inheritdoc IDataSharing
    function anchorAccessBatch(bytes32 merkleRoot, uint32 count, uint48 fromTime, uint48 toTime)
        external
        returns (uint256)
    {
        uint64 anchorerId = _requireRole(IMembershipRegistry.Role.Department);
        return _anchorAccessBatch(anchorerId, merkleRoot, count, fromTime, toTime);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDataSharing
    function verifyBatchRecord(uint256 batchId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        if (batchId == 0 || batchId > _batchCount) revert DataUnknownBatch(batchId);
        return MerkleProof.verifyCalldata(proof, _batches[batchId].merkleRoot, leaf);
    }

    /// @inheritdoc IDataSharing
    function accessLeaf(uint256 grantId, bytes32 queryHash, uint64 rowCount, uint48 timestamp)
        external
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(grantId, queryHash, rowCount, timestamp))));
    }

    /// @inheritdoc IDataSharing
    function isAccessAllowed(uint256 grantId, address account) external view returns (bool allowed) {
        if (grantId == 0 || grantId > _grantCount) return false;
        Grant storage g = _grants[grantId];
        (, allowed) = _accessVerdict(grantId, account, g.fieldMask, g.accesses);
    }

    /// @inheritdoc IDataSharing
    function accessVerdict(uint256 grantId, address account, uint256 fieldMask, uint64 used)
        external
        view
        returns (RefusalReason reason, bool allowed)
    {
        if (grantId == 0 || grantId > _grantCount) return (RefusalReason.NoGrant, false);
        return _accessVerdict(grantId, account, fieldMask, used);
    }

    /// @inheritdoc IDataSharing
    function requestState(uint256 requestId) external view returns (RequestState) {
        _request(requestId);
        return _requestState(requestId);
    }

    /// @inheritdoc IDataSharing
    function grantState(uint256 grantId) external view returns (GrantState) {
        _grant(grantId);
        return _grantState(grantId);
    }

    /// @inheritdoc IDataSharing
    function getDataset(uint256 datasetId) external view returns (DatasetView memory) {
        Dataset storage d = _dataset(datasetId);
        return DatasetView({
            id: datasetId,
            ownerId: d.ownerId,
            title: d.title,
            classification: d.classification,
            metadataHash: d.metadataHash,
            schemaHash: d.schemaHash,
            contentHash: d.contentHash,
            fieldCount: d.fieldCount,
            version: d.version,
            registeredAt: d.registeredAt,
            updatedAt: d.updatedAt,
            refusals: d.refusals
        });
    }

    /// @inheritdoc IDataSharing
    function getRequest(uint256 requestId) external view returns (RequestView memory v) {
        Request storage r = _request(requestId);
        v.id = requestId;
        v.datasetId = r.datasetId;
        v.requesterId = r.requesterId;
        v.purposeCode = r.purposeCode;
        v.purposeHash = r.purposeHash;
        v.fieldMask = r.fieldMask;
        v.rowFilterHash = r.rowFilterHash;
        v.maxAccesses = r.maxAccesses;
        v.noOnwardSharing = r.noOnwardSharing;
        v.duration = r.duration;
        v.createdAt = r.createdAt;
        v.expiresAt = r.expiresAt;
        v.needsGovernance = r.needsGovernance;
        v.ownerApprover = r.ownerApprover;
        v.ownerApprovedAt = r.ownerApprovedAt;
        v.governanceApprover = r.governanceApprover;
        v.governanceApproverId = r.governanceApproverId;
        v.governanceApprovedAt = r.governanceApprovedAt;
        v.closedAt = r.closedAt;
        v.denyReason = r.denyReason;
        v.grantId = r.grantId;
        v.state = _requestState(requestId);
    }

    /// @inheritdoc IDataSharing
    function getGrant(uint256 grantId) external view returns (GrantView memory) {
        Grant storage g = _grant(grantId);
        Request storage r = _requests[g.requestId];
        return GrantView({
            id: grantId,
            requestId: g.requestId,
            datasetId: g.datasetId,
            granteeId: g.granteeId,
            fieldMask: g.fieldMask,
            rowFilterHash: r.rowFilterHash,
            schemaHash: _datasets[g.datasetId].schemaHash,
            maxAccesses: g.maxAccesses,
            noOnwardSharing: r.noOnwardSharing,
            grantedAt: g.grantedAt,
            expiresAt: g.expiresAt,
            revokedAt: g.revokedAt,
            frozen: g.frozen,
            accesses: g.accesses,
            state: _grantState(grantId)
        });
    }

    /// @inheritdoc IDataSharing
    function getBatch(uint256 batchId) external view returns (BatchView memory) {
        if (batchId == 0 || batchId > _batchCount) revert DataUnknownBatch(batchId);
        Batch storage b = _batches[batchId];
        return BatchView(batchId, b.merkleRoot, b.anchorerId, b.count, b.fromTime, b.toTime, b.anchoredAt);
    }

    /// @inheritdoc IDataSharing
    function getRenewal(uint256 grantId) external view returns (RenewalView memory) {
        _grant(grantId);
        Renewal storage r = _renewals[grantId];
        return RenewalView(grantId, r.extension, r.requestedBy, r.requestedAt);
    }

    /// @inheritdoc IDataSharing
    function contentOwner(bytes32 contentHash) external view returns (uint64) {
        return _contentOwners[contentHash];
    }

    /// @inheritdoc IDataSharing
    function datasetCount() external view returns (uint256) {
        return _datasetCount;
    }

    /// @inheritdoc IDataSharing
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @inheritdoc IDataSharing
    function grantCount() external view returns (uint256) {
        return _grantCount;
    }

    /// @inheritdoc IDataSharing
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IDataSharing
    function isMemberFrozen(uint64 memberId) external view returns (bool) {
        return _memberFrozen[memberId];
    }

    /// @inheritdoc IDataSharing
    function requestTtl() external view returns (uint48) {
        return _requestTtl;
    }

    /// @inheritdoc IDataSharing
    function registry() external view returns (IMembershipRegistry) {
        return _registry;
    }

    // --------------------------------------------------------------- internal

    function _registerDataset(
        uint64 ownerId,
        string calldata title,
        Classification classification,
        bytes32 metadataHash,
        bytes32 schemaHash,
        bytes32 contentHash,
        uint16 fieldCount
    ) internal returns (uint256 datasetId) {
        uint256 len = bytes(title).length;
        if (len == 0 || len > MAX_TITLE_LENGTH) revert DataInvalidTitle(len, MAX_TITLE_LENGTH);
        if (metadataHash == 0 || schemaHash == 0 || contentHash == 0) revert DataZeroHash();
        if (fieldCount == 0 || fieldCount > MAX_FIELD_COUNT) revert DataInvalidFieldCount(fieldCount);
        _claimContent(contentHash, ownerId);
        datasetId = ++_datasetCount;
        Dataset storage d = _datasets[datasetId];
        d.ownerId = ownerId;
        d.classification = classification;
        d.version = 1;
        d.registeredAt = _now();
        d.updatedAt = _now();
        d.fieldCount = fieldCount;
        d.metadataHash = metadataHash;
        d.schemaHash = schemaHash;
        d.contentHash = contentHash;
        d.title = title;
        emit DatasetRegistered(
            datasetId, ownerId, title, classification, metadataHash, schemaHash, contentHash, fieldCount
        );
    }

    function _updateDatasetVersion(uint256 datasetId, bytes32 newContentHash) internal {
        if (newContentHash == 0) revert DataZeroHash();
        Dataset storage d = _datasets[datasetId];
        _claimContent(newContentHash, d.ownerId);
        bytes32 old = d.contentHash;
        uint64 version = d.version + 1;
        d.contentHash = newContentHash;
        d.version = version;
        d.updatedAt = _now();
        emit DatasetVersionUpdated(datasetId, version, old, newContentHash);
    }

    function _requestAccess(uint64 requesterId, uint256 datasetId, Terms calldata terms)
        internal
        returns (uint256 requestId)
    {
        Dataset storage d = _dataset(datasetId);
        if (d.ownerId == requesterId) revert DataRequesterIsOwner(datasetId, requesterId);
        if (terms.purposeHash == 0) revert DataZeroHash();
        if (terms.purposeCode == 0 || terms.purposeCode > MAX_PURPOSE_CODE) revert DataUnknownPurpose(terms.purposeCode);
        _checkFieldMask(terms.fieldMask, d.fieldCount);
        _checkDuration(terms.duration);
        requestId = ++_requestCount;
        uint48 expiresAt = _now() + _requestTtl;
        Request storage r = _requests[requestId];
        r.datasetId = uint64(datasetId);
        r.requesterId = requesterId;
        r.createdAt = _now();
        r.expiresAt = expiresAt;
        r.purposeCode = terms.purposeCode;
        r.noOnwardSharing = terms.noOnwardSharing;
        r.duration = terms.duration;
        r.needsGovernance = d.classification >= Classification.Sensitive;
        r.maxAccesses = terms.maxAccesses;
        r.purposeHash = terms.purposeHash;
        r.fieldMask = terms.fieldMask;
        if (terms.rowFilterHash != 0) r.rowFilterHash = terms.rowFilterHash;
        emit AccessRequested(
            requestId,
            datasetId,
            requesterId,
            terms.purposeCode,
            terms.purposeHash,
            terms.fieldMask,
            terms.rowFilterHash,
            terms.duration,
            terms.maxAccesses,
            terms.noOnwardSharing,
            expiresAt
        );
    }

    function _approveAsOwner(uint256 requestId) internal returns (uint256) {
        _requireOpen(requestId);
        Request storage r = _requests[requestId];
        if (r.ownerApprover != address(0)) revert DataAlreadyApproved(requestId, r.ownerApprover);
        if (r.governanceApprover == msg.sender) revert DataSameApprover(requestId, msg.sender);
        r.ownerApprover = msg.sender;
        r.ownerApprovedAt = _now();
        emit RequestApprovedByOwner(requestId, _datasets[r.datasetId].ownerId, msg.sender);
        return _grantIfApproved(requestId);
    }

    function _approveAsGovernance(uint256 requestId, uint64 memberId) internal returns (uint256) {
        _requireOpen(requestId);
        Request storage r = _requests[requestId];
        if (!r.needsGovernance) {
            revert DataGovernanceNotRequired(requestId, _datasets[r.datasetId].classification);
        }
        if (r.governanceApprover != address(0)) revert DataAlreadyApproved(requestId, r.governanceApprover);
        if (r.ownerApprover == msg.sender) revert DataSameApprover(requestId, msg.sender);
        if (memberId == _datasets[r.datasetId].ownerId || memberId == r.requesterId) {
            revert DataApproverConflict(requestId, memberId);
        }
        r.governanceApprover = msg.sender;
        r.governanceApproverId = memberId;
        r.governanceApprovedAt = _now();
        emit RequestApprovedByGovernance(requestId, memberId, msg.sender);
        return _grantIfApproved(requestId);
    }

    function _grantIfApproved(uint256 requestId) internal returns (uint256 grantId) {
        Request storage r = _requests[requestId];
        if (r.ownerApprover == address(0)) return 0;
        if (r.needsGovernance && r.governanceApprover == address(0)) return 0;
        grantId = ++_grantCount;
        uint48 expiresAt = _now() + r.duration;
        r.grantId = uint64(grantId);
        Grant storage g = _grants[grantId];
        g.granteeId = r.requesterId;
        g.expiresAt = expiresAt;
        g.datasetId = r.datasetId;
        g.requestId = uint64(requestId);
        g.grantedAt = _now();
        g.maxAccesses = r.maxAccesses;
        g.fieldMask = r.fieldMask;
        bytes32 schemaHash = _datasets[r.datasetId].schemaHash; // fixed at registration
        emit GrantCreated(
            grantId,
            requestId,
            r.datasetId,
            r.requesterId,
            r.fieldMask,
            r.rowFilterHash,
            schemaHash,
            r.maxAccesses,
            r.noOnwardSharing,
            expiresAt
        );
    }

    function _closeRequest(uint256 requestId, bool denied, uint16 reasonCode) internal {
        _requireOpen(requestId);
        Request storage r = _requests[requestId];
        r.closedAt = _now();
        r.denied = denied;
        if (denied) {
            r.denyReason = reasonCode;
            emit RequestDenied(requestId, _datasets[r.datasetId].ownerId, msg.sender, reasonCode);
        } else {
            emit RequestWithdrawn(requestId, r.requesterId, msg.sender);
        }
    }

    /// @dev A content hash belongs to the member that registered it first: the same member may
    /// name it again (another dataset, a version back), no other member may.
    function _claimContent(bytes32 contentHash, uint64 ownerId) internal {
        uint64 holder = _contentOwners[contentHash];
        if (holder == 0) _contentOwners[contentHash] = ownerId;
        else if (holder != ownerId) revert DataContentHashTaken(contentHash, holder);
    }

    function _renewGrant(uint256 grantId, uint48 extension) internal {
        _checkDuration(extension);
        _requireRenewable(grantId);
        Dataset storage d = _datasets[_grants[grantId].datasetId];
        if (d.classification < Classification.Sensitive) {
            _extendGrant(grantId, extension);
            return;
        }
        // The two-approval rule of the request holds for its renewal: the owner only asks.
        _renewals[grantId] = Renewal(msg.sender, extension, _now());
        emit GrantRenewalRequested(grantId, d.ownerId, msg.sender, extension);
    }

    function _approveRenewal(uint256 grantId, uint48 extension, uint64 memberId) internal {
        Renewal storage r = _renewals[grantId];
        uint48 pending = r.extension;
        if (pending == 0) revert DataNoRenewalPending(grantId);
        if (pending != extension) revert DataRenewalMismatch(grantId, pending, extension);
        if (r.requestedBy == msg.sender) revert DataRenewalSameApprover(grantId, msg.sender);
        Grant storage g = _grants[grantId];
        if (memberId == _datasets[g.datasetId].ownerId || memberId == g.granteeId) {
            revert DataRenewalApproverConflict(grantId, memberId);
        }
        _requireRenewable(grantId);
        delete _renewals[grantId];
        emit GrantRenewalApproved(grantId, memberId, msg.sender, extension);
        _extendGrant(grantId, extension);
    }

    function _extendGrant(uint256 grantId, uint48 extension) internal {
        Grant storage g = _grants[grantId];
        uint48 old = g.expiresAt;
        uint48 renewed = old + extension;
        g.expiresAt = renewed;
        emit GrantRenewed(grantId, old, renewed);
    }

    function _narrowGrant(uint256 grantId, uint256 fieldMask, uint32 maxAccesses, uint48 expiresAt) internal {
        _requireGrantOpen(grantId);
        Grant storage g = _grants[grantId];
        uint256 mask = g.fieldMask;
        uint32 limit = g.maxAccesses;
        uint48 expiry = g.expiresAt;
        bool narrower = fieldMask != 0 && fieldMask & mask == fieldMask && expiresAt <= expiry && expiresAt > _now()
            && (limit == 0 || (maxAccesses != 0 && maxAccesses <= limit));
        if (!narrower || (fieldMask == mask && maxAccesses == limit && expiresAt == expiry)) {
            revert DataTermsNotNarrower(grantId);
        }
        g.fieldMask = fieldMask;
        g.maxAccesses = maxAccesses;
        g.expiresAt = expiresAt;
        emit GrantNarrowed(grantId, msg.sender, fieldMask, maxAccesses, expiresAt);
    }

    function _revokeGrant(uint256 grantId) internal {
        _requireGrantOpen(grantId);
        _grants[grantId].revokedAt = _now();
        emit GrantRevoked(grantId, msg.sender);
    }

    function _setGrantFrozen(uint256 grantId, bool frozen) internal {
        Grant storage g = _grants[grantId];
        if (g.frozen == frozen) revert DataGrantFreezeUnchanged(grantId, frozen);
        if (frozen) _requireGrantOpen(grantId);
        g.frozen = frozen;
        if (frozen) emit GrantFrozen(grantId, msg.sender);
        else emit GrantUnfrozen(grantId, msg.sender);
    }

    function _setMemberFrozen(uint64 memberId, bool frozen) internal {
        if (memberId == 0 || memberId > _registry.memberCount()) revert DataUnknownMember(memberId);
        if (_memberFrozen[memberId] == frozen) revert DataMemberFreezeUnchanged(memberId, frozen);
        _memberFrozen[memberId] = frozen;
        if (frozen) emit MemberFrozen(memberId, msg.sender);
        else emit MemberUnfrozen(memberId, msg.sender);
    }

    function _setRequestTtl(uint48 newTtl) internal {
        if (newTtl < MIN_REQUEST_TTL || newTtl > MAX_REQUEST_TTL) revert DataInvalidRequestTtl(newTtl);
        uint48 old = _requestTtl;
        _requestTtl = newTtl;
        emit RequestTtlChanged(old, newTtl);
    }

    function _recordAccess(uint256 grantId, uint256 datasetId, bytes32 queryHash, uint64 rowCount, uint256 fieldMask)
        internal
        returns (uint64 seq)
    {
        GrantState state = _grantState(grantId);
        if (state != GrantState.Active) revert DataGrantNotActive(grantId, state);
        Grant storage g = _grants[grantId];
        (RefusalReason reason, bool allowed) = _termsVerdict(grantId, fieldMask, g.accesses);
        if (!allowed) {
            if (reason == RefusalReason.OutOfScope) revert DataFieldsOutOfScope(grantId, fieldMask, g.fieldMask);
            revert DataAccessLimitReached(grantId, g.maxAccesses);
        }
        seq = g.accesses + 1;
        g.accesses = seq;
        emit AccessRecorded(grantId, datasetId, g.granteeId, seq, queryHash, rowCount, _now(), fieldMask);
    }

    function _recordRefusal(
        uint256 datasetId,
        uint256 grantId,
        uint64 requesterId,
        RefusalReason reason,
        bytes32 queryHash,
        uint32 attempts
    ) internal returns (uint64 seq) {
        if (attempts == 0) revert DataZeroAttempts();
        if (grantId != 0 && (grantId > _grantCount || _grants[grantId].datasetId != datasetId)) {
            revert DataGrantDatasetMismatch(grantId, datasetId);
        }
        Dataset storage d = _datasets[datasetId];
        seq = d.refusals + attempts;
        d.refusals = seq;
        emit AccessRefused(datasetId, grantId, requesterId, reason, queryHash, seq, attempts);
    }

    function _anchorAccessBatch(uint64 anchorerId, bytes32 merkleRoot, uint32 count, uint48 fromTime, uint48 toTime)
        internal
        returns (uint256 batchId)
    {
        if (merkleRoot == 0) revert DataZeroHash();
        if (count == 0) revert DataEmptyBatch();
        if (fromTime > toTime || toTime > _now()) revert DataInvalidBatchWindow(fromTime, toTime);
        batchId = ++_batchCount;
        _batches[batchId] = Batch(merkleRoot, anchorerId, count, fromTime, toTime, _now());
        emit AccessBatchAnchored(batchId, anchorerId, merkleRoot, count, fromTime, toTime);
    }

    // ------------------------------------------------------- derived state

    /// @dev The access rule (one copy: {accessVerdict}, {isAccessAllowed} and {recordAccess}):
    /// the grant's state, then the caller's membership of the grantee, then the terms.
    function _accessVerdict(uint256 grantId, address account, uint256 fieldMask, uint64 used)
        internal
        view
        returns (RefusalReason, bool)
    {
        GrantState state = _grantState(grantId);
        if (state != GrantState.Active) return (_stateReason(state), false);
        (uint64 memberId,,, bool active) = _registry.accountInfo(account);
        if (!active || memberId != _grants[grantId].granteeId) return (RefusalReason.NotGrantee, false);
        return _termsVerdict(grantId, fieldMask, used);
    }

    /// @dev The terms of an Active grant for an access of `fieldMask` after `used` accesses
    /// (recordAccess checks the state itself and has no grantee account to check: the owner's
    /// gateway calls it).
    function _termsVerdict(uint256 grantId, uint256 fieldMask, uint64 used)
        internal
        view
        returns (RefusalReason, bool)
    {
        Grant storage g = _grants[grantId];
        if (fieldMask == 0 || fieldMask & g.fieldMask != fieldMask) return (RefusalReason.OutOfScope, false);
        uint32 limit = g.maxAccesses;
        if (limit != 0 && used >= limit) return (RefusalReason.LimitReached, false);
        return (RefusalReason.Other, true);
    }

    function _stateReason(GrantState state) internal pure returns (RefusalReason) {
        if (state == GrantState.Revoked) return RefusalReason.GrantRevoked;
        if (state == GrantState.Expired) return RefusalReason.GrantExpired;
        return RefusalReason.GrantFrozen;
    }

    function _requestState(uint256 requestId) internal view returns (RequestState) {
        Request storage r = _requests[requestId];
        if (r.grantId != 0) return RequestState.Granted;
        if (r.closedAt != 0) return r.denied ? RequestState.Denied : RequestState.Withdrawn;
        if (_now() >= r.expiresAt) return RequestState.Expired;
        if (r.ownerApprover != address(0) || r.governanceApprover != address(0)) {
            return RequestState.PartiallyApproved;
        }
        return RequestState.Pending;
    }

    function _grantState(uint256 grantId) internal view returns (GrantState) {
        Grant storage g = _grants[grantId];
        if (g.revokedAt != 0) return GrantState.Revoked;
        if (_now() >= g.expiresAt) return GrantState.Expired;
        if (g.frozen || _memberFrozen[g.granteeId]) return GrantState.Frozen;
        return GrantState.Active;
    }

    // ------------------------------------------------------------- checks

    /// @dev The caller's member id if the caller is an active account of a member with `role`.
    function _requireRole(IMembershipRegistry.Role role) internal view returns (uint64) {
        (uint64 memberId,, uint16 roles, bool active) = _registry.accountInfo(msg.sender);
        if (!active || roles & (uint16(1) << uint8(role)) == 0) revert DataMissingRole(msg.sender, role);
        return memberId;
    }

    /// @dev Reverts unless the caller is an active account of the dataset's owner member (and,
    /// with `needsDepartment`, that member still holds the Department role: actions that widen
    /// access need it; actions that narrow access or record do not).
    function _requireOwner(uint256 datasetId, bool needsDepartment) internal view {
        uint64 ownerId = _dataset(datasetId).ownerId;
        (uint64 memberId,, uint16 roles, bool active) = _registry.accountInfo(msg.sender);
        if (!active || memberId != ownerId) revert DataNotDatasetOwner(datasetId, msg.sender);
        if (needsDepartment && roles & (uint16(1) << uint8(IMembershipRegistry.Role.Department)) == 0) {
            revert DataMissingRole(msg.sender, IMembershipRegistry.Role.Department);
        }
    }

    function _requireOpen(uint256 requestId) internal view {
        RequestState state = _requestState(requestId);
        if (state != RequestState.Pending && state != RequestState.PartiallyApproved) {
            revert DataRequestNotOpen(requestId, state);
        }
    }

    function _requireGrantOpen(uint256 grantId) internal view {
        GrantState state = _grantState(grantId);
        if (state == GrantState.Revoked || state == GrantState.Expired) revert DataGrantClosed(grantId, state);
    }

    /// @dev Open and not frozen: a frozen grant is extended by nobody (the freeze is data
    /// governance's stop; lifting it is the way back).
    function _requireRenewable(uint256 grantId) internal view {
        _requireGrantOpen(grantId);
        GrantState state = _grantState(grantId);
        if (state == GrantState.Frozen) revert DataGrantNotRenewable(grantId, state);
    }

    /// @dev A mask names at least one field and only fields below `fieldCount`.
    function _checkFieldMask(uint256 fieldMask, uint16 fieldCount) internal pure {
        if (fieldMask == 0 || (fieldCount < MAX_FIELD_COUNT && fieldMask >> fieldCount != 0)) {
            revert DataInvalidFieldMask(fieldMask, fieldCount);
        }
    }

    function _checkDuration(uint48 duration) internal pure {
        if (duration == 0 || duration > MAX_GRANT_DURATION) revert DataInvalidDuration(duration, MAX_GRANT_DURATION);
    }

    function _dataset(uint256 datasetId) internal view returns (Dataset storage) {
        if (datasetId == 0 || datasetId > _datasetCount) revert DataUnknownDataset(datasetId);
        return _datasets[datasetId];
    }

    function _request(uint256 requestId) internal view returns (Request storage) {
        if (requestId == 0 || requestId > _requestCount) revert DataUnknownRequest(requestId);
        return _requests[requestId];
    }

    function _grant(uint256 grantId) internal view returns (Grant storage) {
        if (grantId == 0 || grantId > _grantCount) revert DataUnknownGrant(grantId);
        return _grants[grantId];
    }

    function _now() internal view returns (uint48) {
        return uint48(block.timestamp);
    }
}
