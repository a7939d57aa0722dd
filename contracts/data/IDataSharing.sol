// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../membership/IMembershipRegistry.sol";

/// @title Cross-department data sharing: dataset catalog, access requests, grants and access log
/// @notice Departments register the datasets they own; other departments request access with a
/// purpose from a published vocabulary, the fields it needs and usage terms; the owner approves (Sensitive and Secret datasets also need
/// the DataGovernance role) or denies; a fully approved request becomes a grant that expires,
/// can be renewed (a Sensitive or Secret grant only with a DataGovernance approval again),
/// revoked at once, or frozen by data governance. The owner's gateway records every served
/// access and the refused attempts of members; high-volume logs are anchored as Merkle roots.
/// A content hash belongs to the member that registered it first: no other member's dataset
/// may name it, so a dataset cannot alias another member's data.
/// @dev Identity is the member, never the account: datasets, requests and grants belong to
/// member ids from the {IMembershipRegistry}, so any active account of a member acts for it and
/// key rotation loses nothing. Lifecycles are derived by {requestState} and {grantState} from
/// stored timestamps and flags. Ids of every record start at 1; 0 means "none".
interface IDataSharing {
    enum Classification {
        Public, // 0
        Internal, // 1
        Sensitive, // 2: needs a DataGovernance approval as well
        Secret // 3: needs a DataGovernance approval as well
    }

    /// @dev Derived by {requestState}, never stored.
    enum RequestState {
        Pending, // 0: open, no approval yet
        PartiallyApproved, // 1: open, one of the two approvals (Sensitive/Secret) is in
        Granted, // 2: fully approved; the grant exists
        Denied, // 3: the owner denied it
        Withdrawn, // 4: the requester withdrew it
        Expired // 5: not fully approved before its deadline
    }

    /// @dev Derived by {grantState}, never stored. Precedence: Revoked, Expired, Frozen, Active.
    enum GrantState {
        Active, // 0
        Expired, // 1: expiresAt <= block.timestamp
        Revoked, // 2: revoked by the owner (terminal)
        Frozen // 3: the grant or its grantee member is frozen by data governance
    }

    /// @notice Why the gateway refused an access attempt (recorded by {recordRefusal}).
    enum RefusalReason {
        NoGrant, // 0: no grant was presented or it does not exist
        GrantExpired, // 1
        GrantRevoked, // 2
        GrantFrozen, // 3: the grant or the grantee member is frozen
        NotGrantee, // 4: the caller is not an active account of the grantee member
        OutOfScope, // 5: the query asks for fields outside the grant's field mask
        Other, // 6
        LimitReached // 7: the grant's maximum number of accesses is used up
    }

    /// @notice The usage terms a request asks for and its grant carries.
    /// @dev `fieldMask`: bit i = field i of the dataset's Frictionless Table Schema (its
    /// `fields` list); non-zero, only bits below the dataset's `fieldCount`. `rowFilterHash`:
    /// canonical hash of the row filter document (0: every row). `maxAccesses` 0: no limit.
    /// `noOnwardSharing`: the requester, by signing the request, acknowledges on chain that it
    /// will not pass the data on.
    struct Terms {
        uint16 purposeCode;
        bytes32 purposeHash;
        uint256 fieldMask;
        bytes32 rowFilterHash;
        uint48 duration;
        uint32 maxAccesses;
        bool noOnwardSharing;
    }

    struct DatasetView {
        uint256 id;
        uint64 ownerId;
        string title;
        Classification classification;
        bytes32 metadataHash;
        bytes32 schemaHash;
        bytes32 contentHash;
        uint16 fieldCount; // the schema's number of fields (1..256)
        uint64 version; // 1 at registration, +1 per content update
        uint48 registeredAt;
        uint48 updatedAt;
        uint64 refusals; // refused access attempts recorded for this dataset
    }

    struct RequestView {
        uint256 id;
        uint256 datasetId;
        uint64 requesterId;
        uint16 purposeCode;
        bytes32 purposeHash;
        uint256 fieldMask;
        bytes32 rowFilterHash;
        uint32 maxAccesses;
        bool noOnwardSharing;
        uint48 duration;
        uint48 createdAt;
        uint48 expiresAt; // deadline for full approval
        bool needsGovernance;
        address ownerApprover;
        uint48 ownerApprovedAt;
        address governanceApprover;
        uint64 governanceApproverId;
        uint48 governanceApprovedAt;
        uint48 closedAt; // denied or withdrawn at (0: neither)
        uint16 denyReason;
        uint256 grantId; // 0 until granted
        RequestState state;
    }

    struct GrantView {
        uint256 id;
        uint256 requestId;
        uint256 datasetId;
        uint64 granteeId;
        uint256 fieldMask; // the fields it covers now (narrowed by {narrowGrant})
        bytes32 rowFilterHash; // the request's (0: every row)
        bytes32 schemaHash; // the schema the mask reads against: the dataset's (fixed at registration)
        uint32 maxAccesses; // 0: no limit (narrowed by {narrowGrant})
        bool noOnwardSharing;
        uint48 grantedAt;
        uint48 expiresAt;
        uint48 revokedAt; // 0: not revoked
        bool frozen; // the grant's own freeze flag (the member flag: {isMemberFrozen})
        uint64 accesses; // accesses recorded by {recordAccess}
        GrantState state;
    }

    /// @dev A Sensitive or Secret grant's renewal waiting for {approveRenewal}; `extension` 0: none.
    struct RenewalView {
        uint256 grantId;
        uint48 extension;
        address requestedBy; // the owner's account that asked for it
        uint48 requestedAt;
    }

    struct BatchView {
        uint256 id;
        bytes32 merkleRoot;
        uint64 anchorerId;
        uint32 count;
        uint48 fromTime;
        uint48 toTime;
        uint48 anchoredAt;
    }

    // ----------------------------------------------------------------- errors

    /// @notice The account is not an active account of a member holding `role`.
    error DataMissingRole(address account, IMembershipRegistry.Role role);
    /// @notice The account is not an active account of the dataset's owner member.
    error DataNotDatasetOwner(uint256 datasetId, address account);
    /// @notice The account is not an active account of the requesting member.
    error DataNotRequester(uint256 requestId, address account);
    /// @notice No dataset has this id.
    error DataUnknownDataset(uint256 datasetId);
    /// @notice No request has this id.
    error DataUnknownRequest(uint256 requestId);
    /// @notice No grant has this id.
    error DataUnknownGrant(uint256 grantId);
    /// @notice No batch has this id.
    error DataUnknownBatch(uint256 batchId);
    /// @notice No member has this id in the registry.
    error DataUnknownMember(uint64 memberId);
    /// @notice A dataset title must not be empty nor longer than `max` bytes.
    error DataInvalidTitle(uint256 length, uint256 max);
    /// @notice A hash that identifies something must not be zero.
    error DataZeroHash();
    /// @notice The member owns the dataset; it needs no grant for it.
    error DataRequesterIsOwner(uint256 datasetId, uint64 memberId);
    /// @notice A duration must be between 1 second and {MAX_GRANT_DURATION}.
    error DataInvalidDuration(uint48 duration, uint48 max);
    /// @notice A request TTL must be between 1 hour and 365 days.
    error DataInvalidRequestTtl(uint48 ttl);
    /// @notice The request is not open (Pending or PartiallyApproved) for this action.
    error DataRequestNotOpen(uint256 requestId, RequestState state);
    /// @notice This approval was given already, by `approver`.
    error DataAlreadyApproved(uint256 requestId, address approver);
    /// @notice The dataset is Public or Internal: no DataGovernance approval is taken.
    error DataGovernanceNotRequired(uint256 requestId, Classification classification);
    /// @notice The same account cannot give both approvals of a request.
    error DataSameApprover(uint256 requestId, address account);
    /// @notice The DataGovernance approver must be neither the owner nor the requester member.
    error DataApproverConflict(uint256 requestId, uint64 memberId);
    /// @notice The grant is not active at this block (recordAccess).
    error DataGrantNotActive(uint256 grantId, GrantState state);
    /// @notice The grant is revoked or expired: it cannot be renewed, revoked or frozen.
    error DataGrantClosed(uint256 grantId, GrantState state);
    /// @notice The grant's freeze flag is already `frozen`.
    error DataGrantFreezeUnchanged(uint256 grantId, bool frozen);
    /// @notice The member's freeze flag is already `frozen`.
    error DataMemberFreezeUnchanged(uint64 memberId, bool frozen);
    /// @notice The grant is not a grant on this dataset.
    error DataGrantDatasetMismatch(uint256 grantId, uint256 datasetId);
    /// @notice A batch must hold at least one record.
    error DataEmptyBatch();
    /// @notice A batch window must satisfy fromTime <= toTime <= now.
    error DataInvalidBatchWindow(uint48 fromTime, uint48 toTime);
    /// @notice `contentHash` was registered first by member `ownerId`: another member's dataset
    /// cannot name it (registration or version update), so no dataset aliases another's data.
    error DataContentHashTaken(bytes32 contentHash, uint64 ownerId);
    /// @notice The grant is `state` (Frozen: its own flag or its grantee member's) and cannot be
    /// renewed, nor its pending renewal approved, until data governance lifts the freeze.
    error DataGrantNotRenewable(uint256 grantId, GrantState state);
    /// @notice No renewal of this grant waits for a DataGovernance approval.
    error DataNoRenewalPending(uint256 grantId);
    /// @notice The grant's pending renewal extends it by `pending` seconds, not by the
    /// `extension` approved (the owner replaced it after the approver read it).
    error DataRenewalMismatch(uint256 grantId, uint48 pending, uint48 extension);
    /// @notice A renewal's DataGovernance approver must be neither the dataset's owner member
    /// nor the grantee member.
    error DataRenewalApproverConflict(uint256 grantId, uint64 memberId);
    /// @notice The account that asked for a renewal cannot also approve it.
    error DataRenewalSameApprover(uint256 grantId, address account);
    /// @notice A refusal record stands for at least one refused attempt.
    error DataZeroAttempts();
    /// @notice A dataset's schema has 1 to 256 fields.
    error DataInvalidFieldCount(uint256 fieldCount);
    /// @notice A field mask must be non-zero and name only fields below the dataset's
    /// `fieldCount`.
    error DataInvalidFieldMask(uint256 fieldMask, uint16 fieldCount);
    /// @notice The purpose code is not in the published vocabulary (1..{MAX_PURPOSE_CODE}).
    error DataUnknownPurpose(uint16 purposeCode);
    /// @notice The access asks for fields (`requested`, non-empty) outside the grant's
    /// `granted` mask.
    error DataFieldsOutOfScope(uint256 grantId, uint256 requested, uint256 granted);
    /// @notice The grant's `max` accesses are used up.
    error DataAccessLimitReached(uint256 grantId, uint32 max);
    /// @notice A narrowing must keep every term narrower or equal (mask a subset, limit no
    /// higher, expiry no later and still in the future) and make at least one strictly narrower.
    error DataTermsNotNarrower(uint256 grantId);
    /// @notice Only an active account of the dataset's owner or of the grantee member narrows.
    error DataNotGrantParty(uint256 grantId, address account);

    // ----------------------------------------------------------------- events

    event DatasetRegistered(
        uint256 indexed datasetId,
        uint64 indexed ownerId,
        string title,
        Classification classification,
        bytes32 metadataHash,
        bytes32 schemaHash,
        bytes32 contentHash,
        uint16 fieldCount
    );
    event DatasetVersionUpdated(
        uint256 indexed datasetId, uint64 version, bytes32 oldContentHash, bytes32 newContentHash
    );
    event AccessRequested(
        uint256 indexed requestId,
        uint256 indexed datasetId,
        uint64 indexed requesterId,
        uint16 purposeCode,
        bytes32 purposeHash,
        uint256 fieldMask,
        bytes32 rowFilterHash,
        uint48 duration,
        uint32 maxAccesses,
        bool noOnwardSharing,
        uint48 expiresAt
    );
    event RequestApprovedByOwner(uint256 indexed requestId, uint64 indexed ownerId, address approver);
    event RequestApprovedByGovernance(uint256 indexed requestId, uint64 indexed governanceId, address approver);
    event RequestDenied(uint256 indexed requestId, uint64 indexed ownerId, address account, uint16 reasonCode);
    event RequestWithdrawn(uint256 indexed requestId, uint64 indexed requesterId, address account);
    event GrantCreated(
        uint256 indexed grantId,
        uint256 indexed requestId,
        uint256 indexed datasetId,
        uint64 granteeId,
        uint256 fieldMask,
        bytes32 rowFilterHash,
        bytes32 schemaHash,
        uint32 maxAccesses,
        bool noOnwardSharing,
        uint48 expiresAt
    );
    /// @notice The grant's terms were narrowed (by the owner or the grantee): the new mask,
    /// limit (0: none) and expiry, each narrower than or equal to the old one.
    event GrantNarrowed(
        uint256 indexed grantId, address account, uint256 fieldMask, uint32 maxAccesses, uint48 expiresAt
    );
    /// @notice The expiry moved (a Public/Internal grant renewed by its owner, or a Sensitive or
    /// Secret grant's renewal approved by data governance: then right after {GrantRenewalApproved}).
    event GrantRenewed(uint256 indexed grantId, uint48 oldExpiresAt, uint48 newExpiresAt);
    /// @notice The owner asked to extend a Sensitive or Secret grant; it waits for
    /// {approveRenewal} (a later request replaces it).
    event GrantRenewalRequested(uint256 indexed grantId, uint64 indexed ownerId, address account, uint48 extension);
    /// @notice Data governance approved the pending renewal; {GrantRenewed} follows.
    event GrantRenewalApproved(
        uint256 indexed grantId, uint64 indexed governanceId, address approver, uint48 extension
    );
    event GrantRevoked(uint256 indexed grantId, address account);
    event GrantFrozen(uint256 indexed grantId, address account);
    event GrantUnfrozen(uint256 indexed grantId, address account);
    event MemberFrozen(uint64 indexed memberId, address account);
    event MemberUnfrozen(uint64 indexed memberId, address account);
    event RequestTtlChanged(uint48 oldTtl, uint48 newTtl);
    /// @notice One served access. `seq` counts the grant's accesses from 1; `at` is the block
    /// timestamp, the same value an off-chain record puts in its Merkle leaf; `fieldMask` the
    /// fields served.
    event AccessRecorded(
        uint256 indexed grantId,
        uint256 indexed datasetId,
        uint64 indexed granteeId,
        uint64 seq,
        bytes32 queryHash,
        uint64 rowCount,
        uint48 at,
        uint256 fieldMask
    );
    /// @notice Refused attempts by one member: `attempts` of them (the gateway records a member's
    /// repeated refusals on a dataset at most once per window and counts the rest into the next
    /// record, which names the latest attempt). `grantId` 0: none presented. `seq` is the
    /// dataset's count of refused attempts including these.
    event AccessRefused(
        uint256 indexed datasetId,
        uint256 indexed grantId,
        uint64 indexed requesterId,
        RefusalReason reason,
        bytes32 queryHash,
        uint64 seq,
        uint32 attempts
    );
    event AccessBatchAnchored(
        uint256 indexed batchId,
        uint64 indexed anchorerId,
        bytes32 merkleRoot,
        uint32 count,
        uint48 fromTime,
        uint48 toTime
    );

    // ---------------------------------------------------------------- catalog

    /// @notice Register a dataset owned by the caller's member (Department role).
    /// @param title Human-readable title, 1..{MAX_TITLE_LENGTH} bytes.
    /// @param metadataHash Hash of the metadata document (description, contact, ...).
    /// @param schemaHash Canonical hash of the Frictionless Table Schema (fields and types); fixed
    /// for the dataset's life (a new version must keep it), so every grant's field mask reads
    /// against it.
    /// @param contentHash Hash of the current version's content; refused with
    /// {DataContentHashTaken} if another member registered it first.
    /// @param fieldCount The schema's number of fields, 1..256 ({DataInvalidFieldCount}): the
    /// bits a field mask may use.
    function registerDataset(
        string calldata title,
        Classification classification,
        bytes32 metadataHash,
        bytes32 schemaHash,
        bytes32 contentHash,
        uint16 fieldCount
    ) external returns (uint256 datasetId);

    /// @notice Set the current version's content hash; any active account of the owner member.
    /// Emits {DatasetVersionUpdated} with the old and new hash. Refused with
    /// {DataContentHashTaken} if another member registered `newContentHash` first.
    function updateDatasetVersion(uint256 datasetId, bytes32 newContentHash) external;

    // --------------------------------------------------------------- requests

    /// @notice Request access to another member's dataset (Department role) under `terms`:
    /// purpose code in 1..{MAX_PURPOSE_CODE} ({DataUnknownPurpose}; the vocabulary is published
    /// in docs/data-sharing.md), the hash of the purpose statement, a non-empty field mask within
    /// the dataset's fields ({DataInvalidFieldMask}), the row filter's hash (0: none), the grant's
    /// lifetime in seconds counted from the final approval, the maximum number of accesses
    /// (0: none) and the no-onward-sharing flag, which the requester acknowledges by signing.
    /// The request must be fully approved within {requestTtl} (fixed at creation) or it expires.
    function requestAccess(uint256 datasetId, Terms calldata terms) external returns (uint256 requestId);

    /// @notice Withdraw an open request; any active account of the requesting member.
    function withdrawRequest(uint256 requestId) external;

    /// @notice Approve as the dataset owner (any active account of the owner member that still
    /// holds the Department role). Creates the grant when no further approval is needed.
    /// @return grantId The new grant, or 0 while a DataGovernance approval is still missing.
    function approveAsOwner(uint256 requestId) external returns (uint256 grantId);

    /// @notice Second approval for Sensitive and Secret datasets (DataGovernance role). The
    /// account must differ from the owner approver's, and its member must be neither the owner
    /// nor the requester. May come before or after the owner's approval.
    /// @return grantId The new grant, or 0 while the owner's approval is still missing.
    function approveAsGovernance(uint256 requestId) external returns (uint256 grantId);

    /// @notice Deny an open request with a reason code; any active account of the owner member.
    function denyRequest(uint256 requestId, uint16 reasonCode) external;

    // ----------------------------------------------------------------- grants

    /// @notice Extend an Active grant by `extension` seconds (owner member with the Department
    /// role). A Public or Internal grant is extended at once ({GrantRenewed}); a Sensitive or
    /// Secret grant's renewal waits for {approveRenewal} ({GrantRenewalRequested}; a new request
    /// replaces the pending one). A frozen grant is refused ({DataGrantNotRenewable}); an
    /// expired or revoked one needs a new request ({DataGrantClosed}).
    function renewGrant(uint256 grantId, uint48 extension) external;

    /// @notice Approve the pending renewal of a Sensitive or Secret grant (DataGovernance role),
    /// which extends it at once. `extension` must be the pending one; the account must differ
    /// from the one that asked, and its member must be neither the dataset's owner nor the
    /// grantee. The grant must still be Active: nothing renews a frozen, expired or revoked grant.
    function approveRenewal(uint256 grantId, uint48 extension) external;

    /// @notice Narrow an open grant's terms without a new approval; any active account of the
    /// dataset's owner member or of the grantee member ({DataNotGrantParty}). `fieldMask` must
    /// be a subset of the current mask, `maxAccesses` no higher than the current limit (any
    /// limit when there is none; 0 keeps "none" only when there is none), `expiresAt` no later
    /// than the current expiry and in the future; at least one strictly narrower
    /// ({DataTermsNotNarrower}). Widening takes a new request and its approvals.
    function narrowGrant(uint256 grantId, uint256 fieldMask, uint32 maxAccesses, uint48 expiresAt) external;

    /// @notice Revoke a grant at once; any active account of the owner member.
    function revokeGrant(uint256 grantId) external;

    /// @notice Freeze a grant (DataGovernance role); access stops until {unfreezeGrant}.
    function freezeGrant(uint256 grantId) external;

    /// @notice Lift a grant's freeze flag (DataGovernance role).
    function unfreezeGrant(uint256 grantId) external;

    /// @notice Emergency stop: freeze every grant held by `memberId` (DataGovernance role).
    function freezeMember(uint64 memberId) external;

    /// @notice Lift a member freeze (DataGovernance role).
    function unfreezeMember(uint64 memberId) external;

    /// @notice Change the approval deadline of future requests (DataGovernance role).
    function setRequestTtl(uint48 newTtl) external;

    // ------------------------------------------------------------- access log

    /// @notice Record one served access of the fields in `fieldMask`; called by the owner's
    /// gateway (an active account of the dataset's owner member). Reverts with
    /// {DataGrantNotActive} unless the grant is Active at this block, {DataFieldsOutOfScope}
    /// unless `fieldMask` is a non-empty subset of the grant's, {DataAccessLimitReached} when
    /// its maximum is used up: the rule of {accessVerdict}. Stores only the grant's counter;
    /// the record is in {AccessRecorded}.
    function recordAccess(uint256 grantId, bytes32 queryHash, uint64 rowCount, uint256 fieldMask)
        external
        returns (uint64 seq);

    /// @notice Record refused access attempts on `datasetId`; called by the owner's gateway, for
    /// callers that are active accounts of a member (others are refused without a record).
    /// @param grantId The grant presented (0: none); if non-zero it must be on `datasetId`.
    /// @param requesterId The member that asked.
    /// @param reason The reason of the latest attempt.
    /// @param queryHash The query of the latest attempt.
    /// @param attempts How many refused attempts this record stands for (at least 1).
    /// @return seq The dataset's count of refused attempts including these.
    function recordRefusal(
        uint256 datasetId,
        uint256 grantId,
        uint64 requesterId,
        RefusalReason reason,
        bytes32 queryHash,
        uint32 attempts
    ) external returns (uint64 seq);

    /// @notice Anchor a batch of off-chain access records as a Merkle root (Department role:
    /// the gateway of the member that served them). The batch is the anchoring member's
    /// ({BatchView.anchorerId}): every record in it must be an access under a grant on one of
    /// that member's datasets, Active at the record's time; the auditor checks each record of a
    /// batch file against this (the contract sees only the root).
    /// @dev The tree is OpenZeppelin's StandardMerkleTree shape: sorted-pair keccak256 hashing
    /// over leaves `keccak256(bytes.concat(keccak256(abi.encode(uint256 grantId, bytes32
    /// queryHash, uint64 rowCount, uint48 timestamp))))` (see {accessLeaf}); `ledger/merkle.py`
    /// builds the same tree. `count` is the number of leaves; the window bounds the records'
    /// timestamps (fromTime <= toTime <= now).
    function anchorAccessBatch(bytes32 merkleRoot, uint32 count, uint48 fromTime, uint48 toTime)
        external
        returns (uint256 batchId);

    // ------------------------------------------------------------------ views

    /// @notice True if `leaf` is in batch `batchId` by `proof` (OpenZeppelin MerkleProof).
    function verifyBatchRecord(uint256 batchId, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice The Merkle leaf of one access record: the double keccak256 of its ABI encoding,
    /// `keccak256(bytes.concat(keccak256(abi.encode(grantId, queryHash, rowCount, timestamp))))`.
    function accessLeaf(uint256 grantId, bytes32 queryHash, uint64 rowCount, uint48 timestamp)
        external
        pure
        returns (bytes32);

    /// @notice True only while the grant is Active at this block (not expired, revoked or frozen,
    /// grantee member not frozen), `account` is an active account of the grantee member and the
    /// grant's on-chain count is below its limit: {accessVerdict} for the grant's whole mask.
    function isAccessAllowed(uint256 grantId, address account) external view returns (bool);

    /// @notice The access rule, answered instead of reverting (the transparency-log mode's
    /// gateway asks it before serving): may `account` read the fields of `fieldMask` under the
    /// grant when `used` accesses were already made under it? Refusal reasons, in this order:
    /// NoGrant (unknown id), GrantRevoked, GrantExpired, GrantFrozen, NotGrantee, OutOfScope
    /// (empty mask or bits outside the grant's), LimitReached (`used` >= a non-zero limit).
    /// `reason` is meaningful only when `allowed` is false.
    function accessVerdict(uint256 grantId, address account, uint256 fieldMask, uint64 used)
        external
        view
        returns (RefusalReason reason, bool allowed);

    function requestState(uint256 requestId) external view returns (RequestState);
    function grantState(uint256 grantId) external view returns (GrantState);
    function getDataset(uint256 datasetId) external view returns (DatasetView memory);
    function getRequest(uint256 requestId) external view returns (RequestView memory);
    function getGrant(uint256 grantId) external view returns (GrantView memory);
    function getBatch(uint256 batchId) external view returns (BatchView memory);
    /// @notice The grant's pending renewal (`extension` 0: none).
    function getRenewal(uint256 grantId) external view returns (RenewalView memory);
    /// @notice The member that registered `contentHash` first (0: none).
    function contentOwner(bytes32 contentHash) external view returns (uint64);
    function datasetCount() external view returns (uint256);
    function requestCount() external view returns (uint256);
    function grantCount() external view returns (uint256);
    function batchCount() external view returns (uint256);
    function isMemberFrozen(uint64 memberId) external view returns (bool);
    function requestTtl() external view returns (uint48);
    function registry() external view returns (IMembershipRegistry);

    /// @notice Longest grant duration and renewal extension, in seconds.
    function MAX_GRANT_DURATION() external view returns (uint48);
    /// @notice Longest dataset title, in bytes.
    function MAX_TITLE_LENGTH() external view returns (uint256);
    /// @notice The highest purpose code of the published vocabulary (codes 1..this).
    function MAX_PURPOSE_CODE() external view returns (uint16);
}
