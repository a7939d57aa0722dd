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
