// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IMembershipRegistry} from "../../contracts/membership/IMembershipRegistry.sol";
import {MembershipRegistry} from "../../contracts/membership/MembershipRegistry.sol";
import {IAccessCheckpoints} from "../../contracts/data/IAccessCheckpoints.sol";
import {AccessCheckpoints} from "../../contracts/data/AccessCheckpoints.sol";
import {Actors, InvariantBase, Vm} from "./Vm.sol";

/// @notice Drives AccessCheckpoints with random anchors and cosignatures by random actors, and
/// time; keeps a ghost of every accepted checkpoint and counts every accepted call the rules
/// forbid. Members: 1 and 2 Department, 3 DataGovernance, 4 both; Actors.at(5) is no member.
contract CheckpointHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint64 internal constant MEMBERS = 4;

    AccessCheckpoints public immutable cp;

    /// An accepted anchor the rules forbid (no Department role, a size not above the last,
    /// a zero root, a head time after the block's or before the last head's).
    uint256 public badAnchors;
    /// An accepted cosignature the rules forbid (not a witness, its own log, another root, twice).
    uint256 public badCosigns;
    uint256 public anchors;
    uint256 public cosigns;

    struct Ghost {
        uint64 size;
        bytes32 root;
        uint48 timestamp;
    }

    mapping(uint64 logId => Ghost[]) internal _ghost;
    mapping(uint64 logId => mapping(uint64 size => mapping(uint64 witness => bool))) internal _cosigned;

    constructor(AccessCheckpoints cp_) {
        cp = cp_;
    }

    function ghostCount(uint64 logId) external view returns (uint256) {
        return _ghost[logId].length;
    }

    function ghostAt(uint64 logId, uint256 i) external view returns (Ghost memory) {
        return _ghost[logId][i];
    }

    function anchor(uint256 actorSeed, uint256 sizeSeed, uint256 rootSeed, uint256 timeSeed) external {
        uint64 member = uint64(1 + actorSeed % (MEMBERS + 1));
        Ghost[] storage g = _ghost[member <= MEMBERS ? member : 0];
        Ghost memory last = g.length == 0 ? Ghost(0, 0, 0) : g[g.length - 1];
        uint64 size = uint64(last.size + sizeSeed % 6) - (sizeSeed % 7 == 0 && last.size > 0 ? 1 : 0);
        bytes32 root = rootSeed % 11 == 0 ? bytes32(0) : keccak256(abi.encode(rootSeed));
        uint48 ts = timeSeed % 13 == 0 ? uint48(block.timestamp + 1) : uint48(block.timestamp - timeSeed % 200);
        vm.prank(Actors.at(member));
        try cp.anchorCheckpoint(size, root, ts) returns (uint64 logId) {
            anchors++;
            bool department = member == 1 || member == 2 || member == 4;
            if (!department || logId != member || size <= last.size || root == 0 || ts > block.timestamp
                || ts < last.timestamp) badAnchors++;
            g.push(Ghost(size, root, ts));
        } catch {}
    }

    function cosign(uint256 actorSeed, uint256 logSeed, uint256 pick, bool rightRoot) external {
        uint64 witness = uint64(1 + actorSeed % (MEMBERS + 1));
        uint64 logId = uint64(1 + logSeed % MEMBERS);
        Ghost[] storage g = _ghost[logId];
        if (g.length == 0) return;
        Ghost memory c = g[pick % g.length];
        bytes32 root = rightRoot ? c.root : keccak256(abi.encode(c.root));
        vm.prank(Actors.at(witness));
        try cp.cosignCheckpoint(logId, c.size, root) {
            cosigns++;
            bool governance = witness == 3 || witness == 4;
            if (!governance || witness == logId || root != c.root || _cosigned[logId][c.size][witness]) badCosigns++;
            _cosigned[logId][c.size][witness] = true;
        } catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + seconds_ % 3 days);
    }
}

contract CheckpointInvariantsTest is InvariantBase {
    AccessCheckpoints internal cp;
    CheckpointHandler internal handler;

    function setUp() public {
        uint16 department = uint16(1 << uint8(IMembershipRegistry.Role.Department));
        uint16 governance = uint16(1 << uint8(IMembershipRegistry.Role.DataGovernance));
        uint16[4] memory roles = [department, department, governance, department | governance];
        IMembershipRegistry.Seat[] memory seats = new IMembershipRegistry.Seat[](4);
        for (uint256 i = 0; i < 4; i++) {
            seats[i] = IMembershipRegistry.Seat(
                "member", IMembershipRegistry.MemberKind.Department, roles[i], Actors.at(1 + i)
            );
        }
        vm.warp(1_800_000_000);
        cp = new AccessCheckpoints(new MembershipRegistry(seats, 1, 1 days));
        handler = new CheckpointHandler(cp);
        targetContract(address(handler));
    }

    /// @dev Nothing the rules forbid was ever accepted.
    function invariant_onlyAllowedCallsAccepted() public view {
        assert(handler.badAnchors() == 0);
        assert(handler.badCosigns() == 0);
    }

    /// @dev The views are the ghost: every accepted checkpoint is found by its size and by the
    /// entries it covers first, sizes strictly grow, and the latest is the last accepted.
    function invariant_viewsAreTheGhost() public view {
        for (uint64 logId = 0; logId <= 4; logId++) {
            uint256 n = handler.ghostCount(logId);
            assert(cp.checkpointCount(logId) == n);
            uint64 previous = 0;
            for (uint256 i = 0; i < n; i++) {
                CheckpointHandler.Ghost memory g = handler.ghostAt(logId, i);
                assert(g.size > previous);
                IAccessCheckpoints.Checkpoint memory c = cp.checkpointAt(logId, g.size);
                assert(c.rootHash == g.root && c.timestamp == g.timestamp && c.anchoredAt >= g.timestamp);
                assert(cp.checkpointCovering(logId, g.size - 1).treeSize == g.size);
                assert(cp.checkpointCovering(logId, previous).treeSize == g.size);
                previous = g.size;
            }
            assert(cp.latestCheckpoint(logId).treeSize == previous);
            assert(cp.checkpointCovering(logId, previous).treeSize == 0);
        }
    }
}
