"""Private chains and real processes for the reliability tests (collected by pytest, holds no tests).

Everything here writes to a deployment of its own (a private Ganache on a free
loopback port), so faults, fuzzing and abuse never disturb the session chain
that the other test folders count on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.testing import Api, api_for
from ledger.client import Ledger
from ledger.config import Settings
from ledger.process import free_port
from ledger.testing import Deployment, deploy_standard, start_ganache
from tests.conftest import LOG_DIR, TEST_PASSWORD, register_secret

REPO = Path(__file__).resolve().parents[2]


def deploy_private(directory: Path, **params: Any) -> Deployment:
    """A private Ganache with the standard deployment (ledger.testing.deploy_standard);
    ``params`` override the deployment parameters (``fund_voting_period=3600``, ...)."""
    return deploy_standard(start_ganache(directory), directory, TEST_PASSWORD, **params)


def make_api(d: Deployment, directory: Path, **overrides: object) -> Api:
    """Settings in ``directory`` and one API key per standard label (api.testing.api_for)."""
    directory.mkdir(parents=True, exist_ok=True)
    overrides.setdefault("audit_report_path", directory / "audit-report.json")
    return api_for(d, directory, "rel", **overrides)


@dataclass
class Env:
    deployment: Deployment
    api: Api
    directory: Path


_envs: dict[str, Env] = {}
_envs_lock = threading.Lock()


def private_env(name: str, base: Path) -> Env:
    """One private deployment per ``name`` for the whole session (built on first use)."""
    with _envs_lock:
        env = _envs.get(name)
        if env is None:
            directory = base / name
            directory.mkdir(parents=True, exist_ok=True)
            d = deploy_private(directory / "chain")
            env = Env(d, make_api(d, directory / "api"), directory)
            _envs[name] = env
        return env


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as the COGOV_* environment of a subprocess."""
    out = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, list | set | frozenset):  # rpc_urls, gateway_sync_classifications
            value = ",".join(sorted(map(str, value)) if isinstance(value, set | frozenset) else value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[f"COGOV_{name.upper()}"] = str(value)
    out["COGOV_KEYSTORE_PASSWORD"] = TEST_PASSWORD
    return out


class ApiProcess:
    """The API as a real uvicorn subprocess (``--factory api.main:app_factory``), logs in test-artifacts/logs/;
    with ``workers`` > 1, ``cogov serve --workers N`` (uvicorn's master and N worker processes)."""

    def __init__(self, settings: Settings, name: str, workers: int = 1) -> None:
        self.settings = settings
        self.workers = workers
        self.port = free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"uvicorn-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ApiProcess:
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child
        where = ["--host", "127.0.0.1", "--port", str(self.port)]
        command = (
            ["cogov", "serve", *where, "--workers", str(self.workers)] if self.workers > 1
            else ["uvicorn", "--factory", "api.main:app_factory", *where, "--log-level", "info"]
        )
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *command],
                cwd=REPO,
                env=settings_env(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            return self._ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _ready(self, timeout: float) -> ApiProcess:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                httpx.get(self.url + "/api/v1/health", timeout=2)
                if self.workers == 1 or len(self.worker_pids()) >= self.workers:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not start: {self.log_path.read_text(errors='replace')[-2000:]}")

    def worker_pids(self) -> list[int]:
        """The worker processes: the children of uvicorn's master (none with one process)."""
        if self.proc is None or self.workers == 1:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            return []
        # the master's children: its workers, and multiprocessing's resource tracker (no socket)
        return [p for p in pids if "multiprocessing.resource_tracker" not in _cmdline(p)]

    def busiest_worker(self) -> int:
        """The worker holding the most client connections now (the one whose kill breaks the most)."""
        inodes: dict[int, int] = {}  # socket inode -> worker pid
        for pid in self.worker_pids():
            fds = Path(f"/proc/{pid}/fd")
            for fd in fds.iterdir() if fds.is_dir() else []:
                target = os.readlink(fd) if fd.is_symlink() else ""
                if target.startswith("socket:["):
                    inodes[int(target[8:-1])] = pid
        held = {pid: 0 for pid in self.worker_pids()}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()  # local address, remote, state (01: established) ... inode
                if int(cols[1].rsplit(":", 1)[1], 16) == self.port and cols[3] == "01" and int(cols[9]) in inodes:
                    held[inodes[int(cols[9])]] += 1
        return max(held, key=lambda pid: held[pid])

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10 + 5 * self.workers)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its workers too (a session of its own)
                self.proc.wait(timeout=10)

    def __enter__(self) -> ApiProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@contextmanager
def api_process(settings: Settings, name: str) -> Iterator[ApiProcess]:
    p = ApiProcess(settings, name)
    try:
        yield p.start()
    finally:
        p.stop()


def master_key_secret(settings: Settings) -> None:
    """Register the gateway master key (a file the API created) as a secret."""
    path = Path(settings.gateway_master_key_file)
    if path.exists():
        register_secret(path.read_text().strip())


def problem(r: httpx.Response) -> dict[str, Any]:
    assert r.headers.get("content-type", "").startswith("application/problem+json"), (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    return body


def chain_events(led: Ledger, contract: str, name: str) -> list[Any]:
    """Every ``name`` event of ``contract`` on the chain, read with eth_getLogs (no index)."""
    assert led.manifest is not None
    address = led.manifest.address(contract)
    logs = led.rpc("eth_getLogs", [{"address": address, "fromBlock": "0x0", "toBlock": "latest"}])
    return [e for e in led.decode_logs(logs) if e.name == name]


def fund_contributors(d: Deployment, labels: list[str], amount: int = 10**12) -> None:
    """Mint ``amount`` credits to each of ``labels`` and approve the fund for all of it (no approve on the hot path)."""
    import secrets

    from ledger.fund import Credit, Fund
    from ledger.fund.docs import doc_hash

    led = d.ledger()
    credit, fund = Credit(led), Fund(led)
    for label in labels:
        credit.mint(
            d.signers["treasurer"], d.signers[label].address, amount, doc_hash(f"deposit {secrets.token_hex(8)}")
        )
        fund.token.approve(d.signers[label], fund.address, 2**255)


def shared_dataset(
    d: Deployment, client: Any, api: Api, owner: str = "dept_a", grantee: str = "dept_b", max_accesses: int = 0
) -> dict[str, Any]:
    """``owner`` uploads an internal dataset and grants ``grantee`` (a registered data key) two fields
    (at most ``max_accesses`` times; 0: no limit)."""
    from tests.api.test_data_support import register_data_key, synthetic_csv, unique, upload

    register_data_key(d, grantee)
    r = upload(client, api.auth(owner), unique("低保名册 reliability"), "internal", synthetic_csv(4), "roster.csv")
    assert r.status_code == 201, r.text
    ds = r.json()["dataset"]
    r = client.post(
        "/api/v1/access-requests",
        headers=api.auth(grantee),
        json={
            "dataset_id": ds["id"],
            "purpose_code": 2,
            "purpose": "入户走访",
            "fields": ["district", "age"],
            "duration": 86_400,
            "max_accesses": max_accesses,
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()["request"]["id"]
    r = client.post(f"/api/v1/access-requests/{rid}/approve", headers=api.auth(owner))
    assert r.status_code == 200 and r.json()["grant"] is not None, r.text
    return {"dataset": ds, "grant": r.json()["grant"], "request_id": rid}
