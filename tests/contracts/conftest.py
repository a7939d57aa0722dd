"""Fast contract tests on eth-tester's in-process py-evm chain.

Fixtures chain: tester -> w3 -> deployed contracts, over :class:`ledger.testing.evm.Chain`
(shared with bench/gas.py). Each test runs inside a chain snapshot that is reverted
afterwards, so tests stay independent and the (slow) deployments happen once per module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract

from ledger.errors import ContractReverted
from ledger.events import Event

# The in-process chain's helpers live in ledger/testing/evm.py; the contract tests import them from here.
from ledger.testing.evm import CHANGE as CHANGE
from ledger.testing.evm import GAS as GAS
from ledger.testing.evm import KIND as KIND
from ledger.testing.evm import ROLE as ROLE
from ledger.testing.evm import Chain, Council, deploy_registry, roles_mask
from ledger.testing.evm import payload as payload
from ledger.testing.evm import state_changing_functions as state_changing_functions


@contextlib.contextmanager
def expect_revert(error: str, **args: Any) -> Iterator[dict[str, Any]]:
    """Assert the block raises ContractReverted with this custom error (and these args)."""
    got: dict[str, Any] = {}
    with pytest.raises(ContractReverted) as info:
        yield got
    assert info.value.error_name == error, f"expected {error}, got {info.value}"
    for key, value in args.items():
        actual = info.value.error_args.get(key)
        if isinstance(value, str) and isinstance(actual, str):
            assert actual.lower() == value.lower(), f"{error}.{key}: {actual} != {value}"
        else:
            assert actual == value, f"{error}.{key}: {actual!r} != {value!r}"
    got.update(info.value.error_args)


@pytest.fixture(scope="session")
def chain() -> Chain:
    return Chain()


@pytest.fixture(autouse=True)
def _isolate(chain: Chain) -> Iterator[None]:
    with chain.snapshot():
        yield


@pytest.fixture(scope="session")
def council_accounts(chain: Chain) -> list[str]:
    return chain.accounts[1:4]


@pytest.fixture(scope="session")
def _registry_deployed(chain: Chain, council_accounts: list[str]) -> Contract:
    return deploy_registry(chain, council_accounts)


@pytest.fixture
def registry(_registry_deployed: Contract) -> Contract:
    return _registry_deployed


@pytest.fixture
def council(chain: Chain, registry: Contract, council_accounts: list[str]) -> Council:
    return Council(chain, registry, council_accounts)


Factory = Callable[..., Any]


# ---------------------------------------------------------------- co-governance fund
# Added for the fund tests (tests/contracts/test_fund*.py, test_credit*.py).

FUND_QUORUM = 3
FUND_TIME_LOCK = 2 * 24 * 3600
FUND_VOTING_PERIOD = 3 * 24 * 3600
FUND_BALANCE = 10_000_000  # credits minted to each contributor (2 decimals)
PROJECT_STATE = {
    n: i for i, n in enumerate(["Proposed", "TimeLocked", "Active", "Completed", "Rejected", "Cancelled"])
}
MOTION_KIND = {"ApproveProject": 0, "AllocateFromPool": 1, "CancelProject": 2}
MOTION_STATE = {"Open": 0, "Passed": 1, "Failed": 2, "Lapsed": 3}
CONTRIBUTOR_KIND = {"Government": 0, "Enterprise": 1, "Resident": 2}


def h(text: str) -> bytes:
    """keccak256 of a text: the test's stand-in for a document hash."""
    return bytes(Web3.keccak(text=text))


class FundEnv:
    """Members, a CommunityCredit token and a CoGovFund (quorum 3 of 4 committee members).

    - proposer: 街道办 (council seat, Department role, Department kind)
    - gov: 民政局 (council seat, Department kind): a government contributor
    - committee: four FundCommittee members (one account each)
    - treasurer, enterprise (Contributor role), resident (ResidentGroup, Contributor only),
      auditor (Auditor kind), beneficiary (an Enterprise member, Contributor role),
      outsider (not a member).
    """

    def __init__(self, chain: Chain, registry: Contract, council: Council) -> None:
        self.chain, self.registry, self.council = chain, registry, council
        self.proposer = council.members[0]
        self.gov = council.members[1]
        self.treasurer = chain.new_account()
        self.treasurer_id = council.admit("区财政局", "Department", roles_mask("Treasurer"), self.treasurer)
        self.committee: list[str] = []
        self.committee_ids: list[int] = []
        for i in range(4):
            acct = chain.new_account()
            self.committee.append(acct)
            self.committee_ids.append(
                council.admit(f"基金委员{i + 1}", "ResidentGroup", roles_mask("FundCommittee"), acct)
            )
        self.enterprise = chain.new_account()
        self.enterprise_id = council.admit("绿城物业", "Enterprise", roles_mask("Contributor"), self.enterprise)
        self.resident = chain.new_account()
        self.resident_id = council.admit("幸福里居民小组", "ResidentGroup", roles_mask("Contributor"), self.resident)
        self.auditor = chain.new_account()
        self.auditor_id = council.admit("区审计局", "Auditor", roles_mask("Auditor"), self.auditor)
        self.beneficiary = chain.new_account()
        self.beneficiary_id = council.admit("便民施工队", "Enterprise", roles_mask("Contributor"), self.beneficiary)
        self.outsider = chain.new_account()
        self.credit = chain.deploy("CommunityCredit", registry.address, "社区共治积分", "CGC")
        self.fund = chain.deploy(
            "CoGovFund", registry.address, self.credit.address, FUND_QUORUM, FUND_TIME_LOCK, FUND_VOTING_PERIOD
        )
        for i, acct in enumerate([self.gov, self.enterprise, self.resident, self.proposer, self.auditor]):
            self.mint(acct, FUND_BALANCE, f"deposit-setup-{i}")
            chain.transact(self.credit.functions.approve(self.fund.address, 2**256 - 1), acct)

    # -- token
    def mint(self, to: str, amount: int, ref: str) -> Any:
        return self.chain.transact(self.credit.functions.mint(to, amount, h(ref)), self.treasurer)

    def balance(self, who: str) -> int:
        return int(self.credit.functions.balanceOf(who).call())

    # -- fund writes (each returns the receipt)
    def contribute(self, who: str, amount: int, project: int = 0, memo: str = "memo") -> Any:
        return self.chain.transact(self.fund.functions.contribute(amount, project, h(memo)), who)

    def propose(
        self, milestones: list[int], beneficiary: str | None = None, who: str | None = None, title: str = "t",
        pool: int = 0,
    ) -> int:
        specs = [(a, h(f"{title}-m{i}")) for i, a in enumerate(milestones)]
        r = self.chain.transact(
            self.fund.functions.proposeProject(h(title), beneficiary or self.beneficiary, sum(milestones), specs, pool),
            who or self.proposer,
        )
        return int(self.chain.events(self.fund, r, "ProjectProposed")[0]["projectId"])

    def motion_of(self, project: int) -> int:
        return int(self.fund.functions.getProject(project).call()[6])

    def vote(self, motion: int, votes: list[bool], voters: list[str] | None = None) -> Any:
        receipt = None
        for acct, support in zip(voters or self.committee, votes, strict=False):
            receipt = self.chain.transact(self.fund.functions.vote(motion, support), acct)
        return receipt

    def approve_project(self, project: int, unlock: bool = True) -> Any:
        r = self.vote(self.motion_of(project), [True] * FUND_QUORUM)
        if unlock:
            self.chain.time_travel(FUND_TIME_LOCK + 1)
        return r

    def allocate(self, project: int, amount: int) -> Any:
        r = self.chain.transact(self.fund.functions.proposeAllocation(project, amount), self.committee[0])
        mid = int(self.chain.events(self.fund, r, "MotionProposed")[0]["motionId"])
        return self.vote(mid, [True] * FUND_QUORUM)

    def cancel(self, project: int) -> Any:
        r = self.chain.transact(self.fund.functions.proposeCancellation(project), self.committee[0])
        mid = int(self.chain.events(self.fund, r, "MotionProposed")[0]["motionId"])
        return self.vote(mid, [True] * FUND_QUORUM)

    def pay(self, project: int, index: int, amount: int, invoice: str = "invoice") -> Any:
        return self.chain.transact(
            self.fund.functions.payMilestone(project, index, amount, h(invoice)), self.treasurer
        )

    # -- reads
    def state(self, project: int) -> int:
        return int(self.fund.functions.projectState(project).call())

    def sums(self) -> tuple[int, int, int]:
        f = self.fund.functions
        return (f.totalContributed().call(), f.totalPaidOut().call(), f.totalRefunded().call())

    def assert_invariant(self) -> None:
        contributed, paid, refunded = self.sums()
        assert self.balance(self.fund.address) == contributed - paid - refunded

    def all_events(self, contract: Contract | None = None) -> list[dict[str, Any]]:
        """Every event of the fund (or ``contract``) since genesis: :func:`web3_events`."""
        return web3_events(self.chain, contract or self.fund)

    def fund_events(
        self, logs: Iterable[Mapping[str, Any]] | None = None, time_of: Callable[[int], int] | None = None
    ) -> list[Event]:
        """The fund's ``logs`` (default: every one since genesis): :func:`decoded_events`."""
        return decoded_events(self.chain, self.fund, "CoGovFund", logs, time_of)


def web3_events(chain: Chain, contract: Contract) -> list[dict[str, Any]]:
    """Every event of ``contract`` since genesis, decoded by web3, in chain order."""
    from eth_utils import event_abi_to_log_topic

    by_topic = {event_abi_to_log_topic(item): item["name"] for item in contract.abi if item.get("type") == "event"}
    out = []
    for log in chain.w3.eth.get_logs({"address": contract.address, "fromBlock": 0, "toBlock": "latest"}):
        name = by_topic.get(bytes(log["topics"][0]))
        if name is None:
            continue
        ev = getattr(contract.events, name)().process_log(log)
        out.append(
            {
                "event": name,
                "args": dict(ev["args"]),
                "blockNumber": ev["blockNumber"],
                "transactionHash": ev["transactionHash"],
                "logIndex": ev["logIndex"],
            }
        )
    return out


def decoded_events(
    chain: Chain,
    contract: Contract,
    name: str,
    logs: Iterable[Mapping[str, Any]] | None = None,
    time_of: Callable[[int], int] | None = None,
) -> list[Event]:
    """``contract``'s ``logs`` (default: every one since genesis) decoded by the kernel's codec as
    contract ``name``, with their block times (``time_of(block)``; default: read each block), in
    the order given."""
    from ledger.abi import contract_spec
    from ledger.events import decode_logs

    w3 = chain.w3
    if logs is None:
        logs = w3.eth.get_logs({"address": contract.address, "fromBlock": 0, "toBlock": "latest"})
    logs = list(logs)
    read = time_of or (lambda block: int(w3.eth.get_block(block)["timestamp"]))
    times = {int(lg["blockNumber"]): read(int(lg["blockNumber"])) for lg in logs}
    return decode_logs(logs, {contract.address.lower(): contract_spec(name, contract.address)}, times)


@pytest.fixture(scope="session")
def _fund_env_deployed(chain: Chain, _registry_deployed: Contract, council_accounts: list[str]) -> FundEnv:
    return FundEnv(chain, _registry_deployed, Council(chain, _registry_deployed, council_accounts))


@pytest.fixture
def fund_env(_fund_env_deployed: FundEnv) -> FundEnv:
    return _fund_env_deployed


# ---------------------------------------------------------------- cases (吹哨报到)
# Added for tests/contracts/test_cases.py.


class CaseEnv:
    """Members and a CaseDesk with the standard service levels (ledger.cases.STANDARD_LEVELS).

    - council: 街道办, 民政局, 区数据局 (threshold 2)
    - subdistrict: 幸福里街道 (SubDistrict), the raiser; other_subdistrict: 和平里街道
    - depts: 城管, 住建委, 卫健委 (Department)
    - district: 区城市运行中心 (District); channel: 12345热线, other_channel: 网格员 (Channel)
    - property: 绿城物业 (Enterprise, no case role); outsider: no member
    """

    def __init__(self, chain: Chain, registry: Contract, council: Council) -> None:
        from ledger.cases import SATISFACTION_WINDOW, STANDARD_LEVELS

        self.chain, self.registry, self.council = chain, registry, council
        self.ids: dict[str, int] = {}
        self.acct: dict[str, str] = {}
        for label, name, kind, role in [
            ("subdistrict", "幸福里街道", "Department", "SubDistrict"),
            ("other_subdistrict", "和平里街道", "Department", "SubDistrict"),
            ("chengguan", "城管", "Department", "Department"),
            ("zhujian", "住建委", "Department", "Department"),
            ("weijian", "卫健委", "Department", "Department"),
            ("district", "区城市运行中心", "Department", "District"),
            ("channel", "12345热线", "Department", "Channel"),
            ("other_channel", "网格员", "ResidentGroup", "Channel"),
            ("property", "绿城物业", "Enterprise", "Contributor"),
        ]:
            self.acct[label] = chain.new_account()
            self.ids[label] = council.admit(name, kind, roles_mask(role), self.acct[label])
        self.acct["outsider"] = chain.new_account()
        self.levels = {lv.category: lv for lv in STANDARD_LEVELS}
        self.window = SATISFACTION_WINDOW
        self.desk = chain.deploy("CaseDesk", registry.address, self.window, [lv.spec() for lv in STANDARD_LEVELS])

    def send(self, label: str, fn: Any) -> Any:
        """Send ``fn`` from the account of ``label`` (or from an address)."""
        return self.chain.transact(fn, self.acct.get(label, label))

    def events(self, receipt: Any, name: str) -> list[dict[str, Any]]:
        return self.chain.events(self.desk, receipt, name)

    def raise_case(
        self, lead: str = "chengguan", assisting: Iterable[str] = ("zhujian",), category: int = 3,
        reports: Iterable[bytes] = (), channel: str | None = None, by: str = "subdistrict", area: int = 110105001001,
    ) -> int:
        f = self.desk.functions.raiseCase(
            category, area, h("description"), list(reports), self.ids[channel] if channel else 0,
            self.ids[lead], [self.ids[x] for x in assisting],
        )
        return int(self.events(self.send(by, f), "CaseRaised")[0]["caseId"])

    def state(self, case_id: int) -> int:
        return int(self.desk.functions.caseState(case_id).call())

    def view(self, case_id: int) -> dict[str, Any]:
        """getCase as a dict keyed by the CaseView's field names."""
        return view_dict(self.desk, "getCase", self.desk.functions.getCase(case_id).call())


def view_dict(contract: Contract, fn: str, value: Sequence[Any]) -> dict[str, Any]:
    """A struct returned by view ``fn`` of ``contract``, keyed by its component names."""
    item = next(x for x in contract.abi if x.get("type") == "function" and x["name"] == fn)
    names = [c["name"] for c in item["outputs"][0]["components"]]
    return dict(zip(names, value, strict=True))


@pytest.fixture(scope="session")
def case_env(chain: Chain, _registry_deployed: Contract, council_accounts: list[str]) -> CaseEnv:
    """Deployed once; each test's chain snapshot (``_isolate``) undoes what the test did."""
    return CaseEnv(chain, _registry_deployed, Council(chain, _registry_deployed, council_accounts))
