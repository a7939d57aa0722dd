"""Shared set-up of the benchmarks: environment report, a private chain with the suite deployed.

Every benchmark starts its own Ganache on a free port with its own data directory
(never the demo's chain), deploys the suite and admits the standard members
(ledger.testing: the bootstrap the tests use too), and stops the chain at the end,
even when it fails. Nothing here imports from tests/.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS_DIR = ROOT / "bench" / "results"

os.environ.setdefault("COGOV_KEYSTORE_SCRYPT_N", "1024")
os.environ["COGOV_KEYSTORE_PASSWORD"] = "bench-password-not-secret"
PASSWORD = os.environ["COGOV_KEYSTORE_PASSWORD"]

from ledger import artifacts  # noqa: E402
from ledger.client import Ledger  # noqa: E402
from ledger.keys import Signer  # noqa: E402
from ledger.testing import Deployment, deploy_standard, start_ganache  # noqa: E402

# The benchmarks' contracts (contracts/bench/) compile to bench/artifacts/, never shipped.
artifacts.add_folder(ROOT / "bench" / "artifacts")


def environment() -> dict[str, Any]:
    """CPU count, load, versions: printed by every benchmark beside its figures."""
    from importlib.metadata import version

    def v(pkg: str) -> str:
        try:
            return version(pkg)
        except Exception:
            return "-"

    ganache = "-"
    try:
        pkg = json.loads((ROOT / "node_modules" / "ganache" / "package.json").read_text())
        ganache = pkg["version"]
    except OSError:
        pass
    node = "-"
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "node": node,
        "ganache": ganache,
        "web3": v("web3"),
        "eth-account": v("eth-account"),
        "coincurve": v("coincurve"),
        "fastapi": v("fastapi"),
        "uvicorn": v("uvicorn"),
        "sqlalchemy": v("sqlalchemy"),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def emit(name: str, result: dict[str, Any]) -> None:
    """Print the figures and the environment; write ``bench/results/<name>.json``."""
    result = {"benchmark": name, **result, "environment": environment()}
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(text + "\n", encoding="utf-8")


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


@dataclass
class Suite:
    """A private Ganache with the standard deployment (ledger.testing.deploy_standard)."""

    deployment: Deployment
    root: Path

    @property
    def url(self) -> str:
        return str(self.deployment.ganache.config.url)

    @property
    def signers(self) -> dict[str, Signer]:
        return dict(self.deployment.signers)

    def ledger(self, **kw: Any) -> Ledger:
        return self.deployment.ledger(**kw)


class GethNode:
    """A 1-node geth Clique network (``period`` s blocks) standing where the suite's Ganache would:
    ``config.url``, ``pid`` and ``stop`` (its accounts are funded at genesis, not by a dev account)."""

    def __init__(self, root: Path, fund: list[str], period: int = 1) -> None:
        from types import SimpleNamespace

        from ledger.network.clique import CliqueNetwork
        from ledger.network.config import NetworkConfig

        self.net = CliqueNetwork(NetworkConfig.load(data_dir=root / "net", http_port=0, p2p_port=0,
                                                    authrpc_port=0, period=period, nodes=1))
        self.net.up(fund=fund)
        self.config = SimpleNamespace(url=self.net.urls[0])

    @property
    def pid(self) -> int | None:
        return self.net.pid(self.net.nodes[0])

    def stop(self, timeout: float = 10) -> None:
        self.net.down()


#: Accounts a geth bench funds at genesis beside the standard keys (throughput's extra contributors).
EXTRA_LABELS = [f"bench-contrib-{k}" for k in range(256)]


@contextmanager
def suite(prefix: str = "cogov-bench-", fund_quorum: int = 2, fund_timelock: int = 3600,
          chain: str = "ganache") -> Iterator[Suite]:
    """The standard deployment on a fresh Ganache, or (``chain="geth"``) a 1-node geth Clique, 1 s blocks."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    params: dict[str, Any] = {"fund_quorum": fund_quorum, "fund_timelock": fund_timelock}
    node: Any
    if chain == "geth":
        from ledger.keys import Keystore
        from ledger.testing.bootstrap import KEY_LABELS, open_signers

        keys = open_signers(Keystore(root / "keys"), [*KEY_LABELS, *EXTRA_LABELS], PASSWORD)
        node = GethNode(root, [k.address for k in keys.values()])
        params["fund_accounts"] = False
    else:
        node = start_ganache(root)
    try:
        d = deploy_standard(node, root, PASSWORD, **params)
        yield Suite(d, root)
    finally:
        node.stop(timeout=10)


def process_cpu(pid: int | None) -> float:
    """CPU seconds process ``pid`` has used so far (user + system, from ``/proc``); nan without one."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_cpu(s: Suite) -> float:
    """CPU seconds the suite's Ganache process has used so far (user + system, from ``/proc``)."""
    return process_cpu(s.deployment.ganache.pid)


def node_cpu_ms(s: Suite, since: float, writes: int) -> float:
    """The node's CPU milliseconds per write since ``since`` (a :func:`node_cpu` reading)."""
    return round((node_cpu(s) - since) * 1000 / max(writes, 1), 2)


def grant_for_bench(s: Suite) -> tuple[int, int]:
    """An internal dataset of c2 (民政局) granted to dept_a (卫健委): (dataset id, grant id)."""
    from ledger.data import DataSharing, Terms, text_hash

    ds = DataSharing(s.ledger())
    sig = s.signers
    did, _ = ds.register(sig["c2"], "bench dataset", 1, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, 2)  # type: ignore[arg-type]
    rid, _ = ds.request_access(sig["dept_a"], did, Terms(1, text_hash("bench"), 0b11, 30 * 86400))
    ds.approve_as_owner(sig["c2"], rid)
    return did, ds.request(rid).grant_id


def credit_for_contributions(s: Suite, label: str, amount: int) -> None:
    """Mint ``amount`` CommunityCredit to ``label`` (by the treasurer) and approve the fund."""
    led = s.ledger()
    sig = s.signers
    fund_addr = led.manifest.address("CoGovFund")
    led.transact(sig["treasurer"], "CommunityCredit", "mint", sig[label].address, amount, os.urandom(32))
    led.transact(sig[label], "CommunityCredit", "approve", fund_addr, 2**256 - 1)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


#: Objects of each kind the reads bench seeds (bench/http_reads.py): a full page (limit=50) and one more.
FULL_PAGE = 51


def seed_full_pages(s: Suite, n: int = FULL_PAGE) -> dict[str, int]:
    """At least ``n`` of every object an API list or a portal page shows, written through the
    library's wrappers on the standard deployment, four stories side by side (each with accounts
    of its own: one account's concurrent sends are what Ganache 7.9.2 now and then holds unmined):

    * members: the council (c1, c3) admits members until there are ``n`` members and ``n``
      council proposals (each admission is one);
    * data: dept_a registers ``n`` internal datasets, dept_b requests each, dept_a approves: ``n``
      requests and grants;
    * cases: the sub-district raises ``n`` cases (a standard category), dept_a leading;
    * fund: committee_c proposes ``n`` projects of two milestones; committee_a and committee_b
      approve the first ``n // 2 + 1`` (their votes), the resident funds each (earmarked), the time
      lock is passed (``evm_increaseTime``), the treasurer pays both milestones of each; the last
      project gets ``n`` earmarked contributions (resident and enterprise), is cancelled by the
      committee, and every one of them is refunded.

    Returns how many of each kind it wrote."""
    from audit_chain import bench_signer
    from eth_utils.crypto import keccak

    from cogov.demo.fund import side_by_side
    from ledger.cases import CaseDesk
    from ledger.data import Classification, DataSharing, Terms, text_hash
    from ledger.fund import Fund, MotionState
    from ledger.logs import header
    from ledger.membership import MemberKind, Registry, Role
    from ledger.testing import MEMBER_IDS

    sig = s.signers
    made: dict[str, int] = {}

    def members() -> None:
        reg = Registry(s.ledger())
        todo = max(n - len(reg.members()), n - len(reg.proposals()), 0)
        for k in range(todo):
            reg.admit([sig["c1"], sig["c3"]], f"幸福里居民小组 {k}", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR],
                      bench_signer(f"member-{k}").address)
        made["members"] = todo

    def data() -> None:
        ds = DataSharing(s.ledger())
        for k in range(n):
            did, _ = ds.register(sig["dept_a"], f"bench dataset {k}", Classification.INTERNAL, keccak(text=f"m{k}"),
                                 keccak(text=f"s{k}"), keccak(text=f"c{k}"), 2)
            rid, _ = ds.request_access(sig["dept_b"], did, Terms(1, text_hash(f"bench {k}"), 0b11, 365 * 86400))
            ds.approve_as_owner(sig["dept_a"], rid)
        made["datasets"] = made["grants"] = n

    def cases() -> None:
        desk = CaseDesk(s.ledger())
        for k in range(n):
            desk.raise_case(sig["subdistrict"], 3, 110105001001, keccak(text=f"case {k}"), MEMBER_IDS["dept_a"])
        made["cases"] = n

    def fund() -> None:
        led = s.ledger()
        f = Fund(led)
        approved = n // 2 + 1
        credit_for_contributions(s, "resident", 10**9)
        credit_for_contributions(s, "enterprise", 10**9)
        pids = [f.propose_project(sig["committee_c"], keccak(text=f"project {k}"), sig["dept_b"].address,
                                  [(10, keccak(text=f"m{k}.0")), (10, keccak(text=f"m{k}.1"))])[0] for k in range(n)]
        for pid in pids[:approved]:
            mid = f.project(pid).approval_motion_id
            for v in ("committee_a", "committee_b"):
                f.vote(sig[v], mid, True)
            f.contribute(sig["resident"], 20, pid)
        cancelled = pids[-1]
        receipts: dict[str, list[int]] = {"resident": [], "enterprise": []}

        def contribute(label: str, count: int) -> None:
            mine = Fund(s.ledger())
            receipts[label] = [mine.contribute(sig[label], 1, cancelled)[0] for _ in range(count)]

        side_by_side([lambda: contribute("resident", n // 2), lambda: contribute("enterprise", n - n // 2)])
        mid, _ = f.propose_cancellation(sig["committee_a"], cancelled)
        for v in ("committee_a", "committee_b", "committee_c"):
            if f.motion(mid).state == MotionState.OPEN and not f.has_voted(mid, MEMBER_IDS[v]):
                f.vote(sig[v], mid, True)
        top = header(led)
        assert top is not None
        led.rpc("evm_increaseTime", [max(f.project(pids[approved - 1]).unlocks_at - top.time + 1, 0)])
        led.rpc("evm_mine", [])

        def pay() -> None:
            for pid in pids[:approved]:
                for index in (0, 1):
                    f.pay_milestone(sig["treasurer"], pid, index, 10, keccak(text=f"invoice {pid}.{index}"))

        def refund(label: str) -> None:
            mine = Fund(s.ledger())
            for receipt in receipts[label]:
                mine.claim_refund(sig[label], receipt)

        side_by_side([pay, lambda: refund("resident"), lambda: refund("enterprise")])
        made.update(projects=n, approved=approved, payouts=2 * approved, contributions=approved + n, refunds=n)

    side_by_side([members, data, cases, fund])
    return made
