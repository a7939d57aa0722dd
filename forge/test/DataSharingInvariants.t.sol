// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../../contracts/membership/IMembershipRegistry.sol";
import {MembershipRegistry} from "../../contracts/membership/MembershipRegistry.sol";
import {IDataSharing} from "../../contracts/data/IDataSharing.sol";
import {DataSharing} from "../../contracts/data/DataSharing.sol";
import {Actors, InvariantBase, Vm} from "./Vm.sol";

/// @notice Drives DataSharing with random actors (departments, data governance, a member
/// that is both, an outsider) and checks each recorded access against an independent model.
contract DataSharingHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant ACTORS = 6;

    DataSharing public immutable ds;
    MembershipRegistry public immutable reg;

    /// A recordAccess succeeded while the model says the grant was not active.
    uint256 public accessOutsideGrant;
    /// Σ successful recordAccess per grant (compared with the contract's counter).
    mapping(uint256 grantId => uint64) public recorded;
    uint256 public accesses;

    // The model: what the handler saw succeed.
    mapping(uint256 grantId => uint256) public modelExpiresAt;
    mapping(uint256 grantId => bool) public modelRevoked;
    mapping(uint256 grantId => bool) public modelFrozen;
    mapping(uint64 memberId => bool) public modelMemberFrozen;
    mapping(uint256 grantId => uint48) public modelPendingRenewal;
    mapping(uint256 grantId => address) public modelRenewalAsker;
    /// Who registered each content hash first (0: nobody yet).
    mapping(bytes32 contentHash => uint64) public modelContentOwner;

    /// A dataset was registered or updated to a content hash another member registered first.
    uint256 public contentAliased;
    /// A renewal extended a frozen grant, or a Sensitive/Secret grant without an independent
    /// DataGovernance approval of exactly the extension its owner asked for.
    uint256 public badRenewals;
    uint256 public renewals;

    constructor(DataSharing ds_, MembershipRegistry reg_) {
        ds = ds_;
        reg = reg_;
    }

    function _actor(uint256 seed) private pure returns (address) {
        return Actors.at(101 + seed % ACTORS);
    }

    /// Mostly an account of the dataset's owner (member id i has account Actors.at(100 + i)).
    function _ownerOr(uint256 seed, uint256 datasetId) private view returns (address) {
        if (seed % 4 == 0 || datasetId == 0) return _actor(seed >> 8);
        return Actors.at(100 + ds.getDataset(datasetId).ownerId);
    }

    /// Mostly a DataGovernance account (members 4 and 5).
    function _governanceOr(uint256 seed) private pure returns (address) {
        if (seed % 4 == 0) return _actor(seed >> 8);
        return Actors.at(104 + (seed >> 8) % 2);
    }

    function _grantDataset(uint256 grantId) private view returns (uint256) {
        return grantId == 0 ? 0 : ds.getGrant(grantId).datasetId;
    }

    function _pick(uint256 seed, uint256 count) private pure returns (uint256) {
        return count == 0 ? 0 : count - seed % (count < 4 ? count : 4);
    }

    function _as(address actor, bytes memory callData) private returns (bool ok, bytes memory ret) {
        vm.prank(actor);
        (ok, ret) = address(ds).call(callData);
    }

    /// A few content hashes, so that members often try to name one another's.
    function _content(uint256 seed) private pure returns (bytes32) {
        return keccak256(abi.encode("content", seed % 6));
    }

    function _claimed(bytes32 content, uint64 ownerId) private {
        uint64 holder = modelContentOwner[content];
        if (holder == 0) modelContentOwner[content] = ownerId;
        else if (holder != ownerId) contentAliased++;
    }

    function registerDataset(uint256 actorSeed, uint8 classification, uint256 contentSeed) external {
        bytes32 content = _content(contentSeed);
        (bool ok, bytes memory ret) = _as(
            _actor(actorSeed),
            abi.encodeCall(
                IDataSharing.registerDataset,
                ("ds", IDataSharing.Classification(classification % 4), bytes32("m"), bytes32("s"), content, uint16(4))
            )
        );
        if (ok) _claimed(content, ds.getDataset(abi.decode(ret, (uint256))).ownerId);
    }

    function updateVersion(uint256 actorSeed, uint256 datasetSeed, uint256 contentSeed) external {
        uint256 id = _pick(datasetSeed, ds.datasetCount());
        bytes32 content = _content(contentSeed);
        (bool ok,) = _as(_ownerOr(actorSeed, id), abi.encodeCall(IDataSharing.updateDatasetVersion, (id, content)));
        if (ok) _claimed(content, ds.getDataset(id).ownerId);
    }

    function requestAccess(uint256 actorSeed, uint256 datasetSeed, uint48 duration) external {
        uint256 id = _pick(datasetSeed, ds.datasetCount());
        _as(
            _actor(actorSeed),
            abi.encodeCall(
                IDataSharing.requestAccess,
                (id, IDataSharing.Terms(1, bytes32("p"), 3, bytes32(0), 1 + duration % 3 days, 0, false))
            )
        );
    }

    function approveAsOwner(uint256 actorSeed, uint256 requestSeed) external {
        _approve(actorSeed, requestSeed, true);
    }

    function approveAsGovernance(uint256 actorSeed, uint256 requestSeed) external {
        _approve(actorSeed, requestSeed, false);
    }

    function _approve(uint256 actorSeed, uint256 requestSeed, bool owner) private {
        uint256 id = _pick(requestSeed, ds.requestCount());
        address actor = owner
            ? _ownerOr(actorSeed, id == 0 ? 0 : ds.getRequest(id).datasetId)
            : _governanceOr(actorSeed);
        (bool ok, bytes memory ret) = _as(
            actor,
            owner
                ? abi.encodeCall(IDataSharing.approveAsOwner, (id))
                : abi.encodeCall(IDataSharing.approveAsGovernance, (id))
        );
        if (ok) {
            uint256 grantId = abi.decode(ret, (uint256));
            if (grantId != 0) modelExpiresAt[grantId] = block.timestamp + ds.getRequest(id).duration;
        }
    }

    function denyOrWithdraw(uint256 actorSeed, uint256 requestSeed, bool deny) external {
        uint256 id = _pick(requestSeed, ds.requestCount());
        _as(
            deny ? _ownerOr(actorSeed, id == 0 ? 0 : ds.getRequest(id).datasetId) : _actor(actorSeed),
            deny ? abi.encodeCall(IDataSharing.denyRequest, (id, 7)) : abi.encodeCall(IDataSharing.withdrawRequest, (id))
        );
    }

    function _frozen(uint256 grantId) private view returns (bool) {
        return modelFrozen[grantId] || modelMemberFrozen[ds.getGrant(grantId).granteeId];
    }

    /// The owner's renewal: at once for Public/Internal, pending for Sensitive/Secret.
    function renew(uint256 actorSeed, uint256 grantSeed, uint48 extension) external {
        uint256 id = _pick(grantSeed, ds.grantCount());
        uint48 ext = 1 + extension % 2 days;
        address actor = _ownerOr(actorSeed, _grantDataset(id));
        uint48 before = id == 0 ? 0 : ds.getGrant(id).expiresAt;
        (bool ok,) = _as(actor, abi.encodeCall(IDataSharing.renewGrant, (id, ext)));
        if (!ok) return;
        renewals++;
        if (_frozen(id)) badRenewals++;
        if (ds.getDataset(_grantDataset(id)).classification >= IDataSharing.Classification.Sensitive) {
            if (ds.getGrant(id).expiresAt != before) badRenewals++; // extended without governance
            modelPendingRenewal[id] = ext;
            modelRenewalAsker[id] = actor;
        } else {
            modelExpiresAt[id] += ext;
        }
    }

    /// Data governance's approval of a pending renewal (sometimes of another extension).
    function approveRenewal(uint256 actorSeed, uint256 grantSeed, bool sameExtension) external {
        uint256 id = _pick(grantSeed, ds.grantCount());
        uint48 ext = sameExtension ? modelPendingRenewal[id] : modelPendingRenewal[id] + 1;
        address actor = _governanceOr(actorSeed);
        (bool ok,) = _as(actor, abi.encodeCall(IDataSharing.approveRenewal, (id, ext)));
        if (!ok) return;
        renewals++;
        IDataSharing.GrantView memory g = ds.getGrant(id);
        uint64 approver = reg.memberIdOf(actor);
        if (
            _frozen(id) || ext == 0 || ext != modelPendingRenewal[id] || actor == modelRenewalAsker[id]
                || approver == ds.getDataset(g.datasetId).ownerId || approver == g.granteeId
                || !reg.hasRole(actor, IMembershipRegistry.Role.DataGovernance)
        ) badRenewals++;
        modelPendingRenewal[id] = 0;
        modelExpiresAt[id] += ext;
    }

    function revoke(uint256 actorSeed, uint256 grantSeed) external {
        uint256 id = _pick(grantSeed, ds.grantCount());
        (bool ok,) = _as(_actor(actorSeed), abi.encodeCall(IDataSharing.revokeGrant, (id)));
        if (ok) modelRevoked[id] = true;
    }

    function freezeGrant(uint256 actorSeed, uint256 grantSeed, uint8 frozenSeed) external {
        bool frozen = frozenSeed % 2 == 0;
        uint256 id = _pick(grantSeed, ds.grantCount());
        (bool ok,) = _as(
            _governanceOr(actorSeed),
            frozen ? abi.encodeCall(IDataSharing.freezeGrant, (id)) : abi.encodeCall(IDataSharing.unfreezeGrant, (id))
        );
        if (ok) modelFrozen[id] = frozen;
    }

    function freezeMember(uint256 actorSeed, uint64 memberSeed, uint8 frozenSeed) external {
        bool frozen = frozenSeed % 3 == 0; // unfreeze twice as often as freeze
        uint64 member = 1 + memberSeed % 6;
        (bool ok,) = _as(
            _governanceOr(actorSeed),
            frozen
                ? abi.encodeCall(IDataSharing.freezeMember, (member))
                : abi.encodeCall(IDataSharing.unfreezeMember, (member))
        );
        if (ok) modelMemberFrozen[member] = frozen;
    }

    function recordAccess(uint256 actorSeed, uint256 grantSeed, uint64 rows) external {
        uint256 id = _pick(grantSeed, ds.grantCount());
        (bool ok,) = _as(_ownerOr(actorSeed, _grantDataset(id)), abi.encodeCall(IDataSharing.recordAccess, (id, bytes32("q"), rows, 1)));
        if (!ok) return;
        accesses++;
        recorded[id]++;
        uint64 grantee = ds.getGrant(id).granteeId;
        if (
            modelRevoked[id] || block.timestamp >= modelExpiresAt[id] || modelFrozen[id]
                || modelMemberFrozen[grantee]
        ) accessOutsideGrant++;
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % 1 days);
    }
}

/// @notice Invariants of data sharing: no access recorded outside an active grant; the two
/// approvals of a Sensitive/Secret grant come from different accounts, and the governance
/// approver's member is neither the owner nor the requester.
contract DataSharingInvariantsTest is InvariantBase {
    MembershipRegistry internal reg;
    DataSharing internal ds;
    DataSharingHandler internal handler;

    function setUp() public {
        // Member ids 1..6, accounts Actors.at(101..106):
        // 1, 2, 3: departments; 4: data governance; 5: department AND data governance;
        // 6: an enterprise with neither role.
        uint16 dept = uint16(1 << uint8(IMembershipRegistry.Role.Department));
        uint16 gov = uint16(1 << uint8(IMembershipRegistry.Role.DataGovernance));
        uint16[6] memory roles = [dept, dept, dept, gov, dept | gov, uint16(0)];
        IMembershipRegistry.Seat[] memory seats = new IMembershipRegistry.Seat[](6);
        for (uint256 i = 0; i < 6; i++) {
            seats[i] = IMembershipRegistry.Seat(
                "m", i == 5 ? IMembershipRegistry.MemberKind.Enterprise : IMembershipRegistry.MemberKind.Department,
                roles[i], Actors.at(101 + i)
            );
        }
        reg = new MembershipRegistry(seats, 3, 1 days);
        ds = new DataSharing(reg, 2 days);
        handler = new DataSharingHandler(ds, reg);
        targetContract(address(handler));
    }

    /// @dev Every recorded access fell inside a grant that was active at that block (by the
    /// handler's own model of expiry, renewal, revocation and freezes), and the contract's
    /// per-grant counter equals the accesses that succeeded.
    function invariant_noAccessOutsideActiveGrant() public view {
        assert(handler.accessOutsideGrant() == 0);
        uint256 n = ds.grantCount();
        for (uint256 id = 1; id <= n; id++) {
            assert(ds.getGrant(id).accesses == handler.recorded(id));
        }
    }

    /// @dev No content hash is named by datasets of two members (no dataset aliases another
    /// member's data), and every renewal came from the owner alone only for Public/Internal
    /// grants, from an independent DataGovernance approval of the asked extension otherwise,
    /// never while the grant was frozen; each grant's expiry is what those renewals give.
    function invariant_contentAndRenewals() public view {
        assert(handler.contentAliased() == 0);
        assert(handler.badRenewals() == 0);
        uint256 n = ds.grantCount();
        for (uint256 id = 1; id <= n; id++) {
            assert(ds.getGrant(id).expiresAt == handler.modelExpiresAt(id));
            assert(ds.getRenewal(id).extension == handler.modelPendingRenewal(id));
        }
    }

    /// @dev Separation of duties on every grant: the owner approved; for Sensitive/Secret the
    /// governance approval exists, from another account, by a member that is neither the owner
    /// nor the requester; the grantee is never the owner.
    function invariant_approversExclusive() public view {
        uint256 n = ds.grantCount();
        for (uint256 id = 1; id <= n; id++) {
            IDataSharing.GrantView memory g = ds.getGrant(id);
            IDataSharing.RequestView memory r = ds.getRequest(g.requestId);
            IDataSharing.DatasetView memory d = ds.getDataset(g.datasetId);
            assert(r.grantId == id && r.ownerApprover != address(0));
            assert(reg.memberIdOf(r.ownerApprover) == d.ownerId);
            assert(g.granteeId == r.requesterId && g.granteeId != d.ownerId);
            if (d.classification >= IDataSharing.Classification.Sensitive) {
                assert(r.governanceApprover != address(0));
                assert(r.governanceApprover != r.ownerApprover);
                assert(r.governanceApproverId != d.ownerId && r.governanceApproverId != r.requesterId);
            }
        }
    }
}
