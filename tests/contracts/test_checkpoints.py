"""AccessCheckpoints: the transparency logs' anchored heads and their witnesses' cosignatures."""

from __future__ import annotations

from typing import Any

import pytest
from web3.contract import Contract

from ledger.testing.evm import Chain
from tests.contracts.conftest import ROLE, Council, expect_revert, h, roles_mask, view_dict

#: Who may call each state-changing function (tests/contracts/test_role_tables.py checks the ABI).
CHECKPOINT_ROLES: dict[str, str] = {
    "anchorCheckpoint": "Department (the log is the caller's member)",
    "cosignCheckpoint": "DataGovernance of another member",
}


class CheckpointEnv:
    """The registry's council (街道办 Department = log 1, 区数据局 DataGovernance = witness 3) plus
    卫健委 (Department), 市大数据中心 (DataGovernance), 数据专班 (Department + DataGovernance),
    绿城物业 (Contributor) and an outsider; a deployed AccessCheckpoints."""

    def __init__(self, chain: Chain, registry: Contract, council: Council, council_accounts: list[str]) -> None:
        self.chain = chain
        self.acct = {"dept": council_accounts[0], "governance": council_accounts[2]}
        self.ids = {"dept": 1, "governance": 3}
        for label, name, kind, roles in [
            ("dept_b", "卫健委", "Department", roles_mask("Department")),
            ("governance_b", "市大数据中心", "Department", roles_mask("DataGovernance")),
            ("dual", "数据专班", "Department", roles_mask("Department", "DataGovernance")),
            ("enterprise", "绿城物业", "Enterprise", roles_mask("Contributor")),
        ]:
            self.acct[label] = chain.new_account()
            self.ids[label] = council.admit(name, kind, roles, self.acct[label])
        self.acct["outsider"] = chain.new_account()
        self.council = council
        self.cp = chain.deploy("AccessCheckpoints", registry.address)

    def send(self, label: str, fn: Any) -> Any:
        return self.chain.transact(fn, self.acct[label])

    def anchor(self, label: str, size: int, root: bytes, timestamp: int | None = None) -> Any:
        ts = self.chain.now() if timestamp is None else timestamp
        return self.send(label, self.cp.functions.anchorCheckpoint(size, root, ts))

    def view(self, fn: str, *args: Any) -> dict[str, Any]:
        return view_dict(self.cp, fn, getattr(self.cp.functions, fn)(*args).call())


@pytest.fixture(scope="module")
def _env(chain: Chain, _registry_deployed: Contract, council_accounts: list[str]) -> CheckpointEnv:
    return CheckpointEnv(chain, _registry_deployed, Council(chain, _registry_deployed, council_accounts),
                         council_accounts)


@pytest.fixture
def env(_env: CheckpointEnv) -> CheckpointEnv:
    return _env


R1, R2, R3 = h("root-1"), h("root-2"), h("root-3")


def test_a_department_anchors_its_own_log(env: CheckpointEnv) -> None:
    ts = env.chain.now()
    receipt = env.anchor("dept", 10, R1, ts)
    [ev] = env.chain.events(env.cp, receipt, "CheckpointAnchored")
    assert ev == {"logId": 1, "treeSize": 10, "rootHash": R1, "timestamp": ts, "anchorer": env.acct["dept"]}
    block_time = env.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    latest = env.view("latestCheckpoint", 1)
    assert latest == {"treeSize": 10, "rootHash": R1, "timestamp": ts, "anchoredAt": block_time, "cosignerCount": 0}
    assert env.view("checkpointAt", 1, 10) == latest
    assert env.cp.functions.checkpointCount(1).call() == 1
    assert env.view("latestCheckpoint", env.ids["dept_b"])["treeSize"] == 0  # another log: none
    assert env.cp.functions.registry().call() == env.council.registry.address


def test_only_an_active_department_account_anchors(env: CheckpointEnv) -> None:
    for who in ("governance", "governance_b", "enterprise", "outsider"):
        with expect_revert("CheckpointMissingRole", account=env.acct[who], role=ROLE["Department"]):
            env.anchor(who, 1, R1)
    env.council.enact("RemoveMember", env.ids["dept_b"])
    with expect_revert("CheckpointMissingRole", account=env.acct["dept_b"], role=ROLE["Department"]):
        env.anchor("dept_b", 1, R1)


def test_sizes_only_grow_and_roots_are_non_zero(env: CheckpointEnv) -> None:
    with expect_revert("CheckpointSizeNotIncreasing", logId=1, treeSize=0, latestSize=0):
        env.anchor("dept", 0, R1)
    with expect_revert("CheckpointZeroRoot"):
        env.anchor("dept", 5, b"\x00" * 32)
    env.anchor("dept", 5, R1)
    for size in (5, 4):
        with expect_revert("CheckpointSizeNotIncreasing", logId=1, treeSize=size, latestSize=5):
            env.anchor("dept", size, R2)
    env.anchor("dept", 6, R2)
    env.anchor("dept_b", 1, R3)  # logs are independent: another member starts from 0
    assert env.view("latestCheckpoint", 1)["treeSize"] == 6


def test_time_rules(env: CheckpointEnv) -> None:
    now = env.chain.now()
    with expect_revert("CheckpointTimestampInFuture", timestamp=now + 3600):
        env.anchor("dept", 1, R1, now + 3600)
    env.anchor("dept", 1, R1, now - 100)
    env.chain.time_travel(7200)
    env.anchor("dept", 2, R2, now + 3600)  # the same head time is now in the past: accepted
    with expect_revert("CheckpointTimestampBeforeLatest", timestamp=now + 3599, latestTimestamp=now + 3600):
        env.anchor("dept", 3, R3, now + 3599)
    env.anchor("dept", 3, R3, now + 3600)  # equal times are allowed


def test_checkpoint_lookups(env: CheckpointEnv) -> None:
    for size, root in ((3, R1), (8, R2), (20, R3)):
        env.anchor("dept", size, root)
    covering = {i: env.view("checkpointCovering", 1, i)["treeSize"] for i in (0, 2, 3, 7, 8, 19, 20, 10**6)}
    assert covering == {0: 3, 2: 3, 3: 8, 7: 8, 8: 20, 19: 20, 20: 0, 10**6: 0}
    assert env.view("checkpointAt", 1, 8)["rootHash"] == R2
    for size in (0, 2, 4, 21):
        with expect_revert("CheckpointUnknown", logId=1, treeSize=size):
            env.chain.call(env.cp.functions.checkpointAt(1, size))


def test_witnesses_cosign_the_anchored_root_once(env: CheckpointEnv) -> None:
    env.anchor("dept", 10, R1)
    receipt = env.send("governance", env.cp.functions.cosignCheckpoint(1, 10, R1))
    [ev] = env.chain.events(env.cp, receipt, "CheckpointCosigned")
    assert ev == {"logId": 1, "treeSize": 10, "rootHash": R1, "witnessId": 3, "witness": env.acct["governance"]}
    env.send("governance_b", env.cp.functions.cosignCheckpoint(1, 10, R1))
    assert env.cp.functions.cosigners(1, 10).call() == [3, env.ids["governance_b"]]
    assert env.view("checkpointAt", 1, 10)["cosignerCount"] == 2
    with expect_revert("CheckpointAlreadyCosigned", logId=1, treeSize=10, witnessId=3):
        env.send("governance", env.cp.functions.cosignCheckpoint(1, 10, R1))


def test_cosign_refusals(env: CheckpointEnv) -> None:
    env.anchor("dual", 4, R1)
    log = env.ids["dual"]
    with expect_revert("CheckpointRootMismatch", logId=log, treeSize=4, rootHash=R2, anchored=R1):
        env.send("governance", env.cp.functions.cosignCheckpoint(log, 4, R2))
    with expect_revert("CheckpointUnknown", logId=log, treeSize=5):
        env.send("governance", env.cp.functions.cosignCheckpoint(log, 5, R1))
    with expect_revert("CheckpointOwnLog", logId=log):
        env.send("dual", env.cp.functions.cosignCheckpoint(log, 4, R1))
    for who in ("dept", "dept_b", "enterprise", "outsider"):
        with expect_revert("CheckpointMissingRole", account=env.acct[who], role=ROLE["DataGovernance"]):
            env.send(who, env.cp.functions.cosignCheckpoint(log, 4, R1))
    assert env.cp.functions.cosigners(log, 4).call() == []


def test_every_state_changing_function_refuses_callers_without_the_role(env: CheckpointEnv) -> None:
    f = env.cp.functions
    rows = {
        "anchorCheckpoint": [(who, f.anchorCheckpoint(1, R1, env.chain.now()), "Department")
                             for who in ("governance", "enterprise", "outsider")],
        "cosignCheckpoint": [(who, f.cosignCheckpoint(1, 1, R1), "DataGovernance")
                             for who in ("dept", "dept_b", "enterprise", "outsider")],
    }
    assert set(rows) == set(CHECKPOINT_ROLES)
    for who_rows in rows.values():
        for who, call, role in who_rows:
            with expect_revert("CheckpointMissingRole", account=env.acct[who], role=ROLE[role]):
                env.send(who, call)
