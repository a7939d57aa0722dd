"""No secret the suite used appears in any log the suite wrote.

Secrets: every private key of every test keystore under this run's temporary directory (decrypted
with the test password) and every key decrypted in this process, the keystore password, the
secret part of every API key fixtures created (registered by the hook in tests/conftest.py), and
every gateway master key file. Logs: test-artifacts/logs/ (the suite's root DEBUG log, the uvicorn
subprocess logs) and every Ganache ``<db>.log`` under this run's temporary directory.

``test_no_secret_in_any_log`` runs last (tests/conftest.py moves it to the end of the run). ``make
test`` runs the suite on both cores (pytest-xdist), where no test runs after the other worker's:
there the scan is left out and runs in a second pytest run, with ``COGOV_TEST_SCAN_DIR`` naming the
first run's temporary directory: its keystores, node logs and the secrets each worker registered
(``registered-secrets-gw*.txt``, written by tests/conftest.py at the end of each worker).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from eth_account import Account

from tests.conftest import LOG_DIR, SECRETS, TEST_PASSWORD


def suite_secrets(basetemp: Path, registered: set[str] = SECRETS) -> dict[str, str]:
    """secret -> what it is (for the report; the secret itself is never printed)."""
    out = {s: "registered secret" for s in registered}
    for path in basetemp.rglob("*.json"):
        if path.parent.name != "keys" and "keystore" not in path.parent.name:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if "crypto" not in data and "Crypto" not in data:
                continue
            key = Account.decrypt(data, TEST_PASSWORD)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out[bytes(key).hex()] = f"private key of {path.name}"
    for path in basetemp.rglob("gateway-master.key"):
        out[path.read_text().strip()] = f"gateway master key {path}"
    for s in list(out):
        if len(s) == 64 and all(ch in "0123456789abcdef" for ch in s):
            out["0x" + s] = out[s]
            out[s.upper()] = out[s]
    return {s: what for s, what in out.items() if len(s) >= 8}


def log_files(basetemp: Path) -> list[Path]:
    files = [p for p in LOG_DIR.rglob("*") if p.is_file()] if LOG_DIR.exists() else []
    files += [p for p in basetemp.rglob("*.log") if p.is_file()]
    return files


def scan(files: list[Path], secrets: dict[str, str]) -> list[tuple[str, str]]:
    """(file, what) for every secret found in every file."""
    needles = {s.encode(): what for s, what in secrets.items()}
    hits = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for needle, what in needles.items():
            if needle in data:
                hits.append((str(path), what))
    return hits


def test_scanner_finds_a_planted_secret(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The scan can fail: a secret written to the suite log, or to a node's log, is found."""
    planted = "planted-" + __import__("secrets").token_hex(16)
    logging.getLogger("tests.secrets.selfcheck").debug("leaking %s on purpose", planted)
    for h in logging.getLogger().handlers:
        h.flush()
    hits = scan([LOG_DIR / "suite.log"], {planted: "planted"})
    assert hits == [(str(LOG_DIR / "suite.log"), "planted")]
    node_log = tmp_path / "chain.log"
    node_log.write_text(f"eth_sendRawTransaction from key {planted}\n")
    assert scan(log_files(tmp_path_factory.getbasetemp()), {planted: "planted"})
    # and a keystore under the run's temporary directory is decrypted into the secret set
    from ledger.keys import Keystore

    ks = Keystore(tmp_path / "keys")
    ks.create("probe", TEST_PASSWORD)
    key = ks.signer("probe", TEST_PASSWORD).account.key.hex().removeprefix("0x")
    assert key in suite_secrets(tmp_path)


def scanned_runs(basetemp: Path) -> list[Path]:
    """This run's temporary directory, and an earlier run's named by ``COGOV_TEST_SCAN_DIR``."""
    earlier = os.environ.get("COGOV_TEST_SCAN_DIR")
    if not earlier:
        return [basetemp]
    root = Path(earlier)
    assert list(root.glob("registered-secrets-gw*.txt")), f"no xdist worker of the run in {root} registered its secrets"
    return [basetemp, root]


@pytest.mark.timeout(1200)  # every secret of the run (some 1,500) in every log it wrote (~0.5 GB): 3-4 minutes
def test_no_secret_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> None:
    runs = scanned_runs(tmp_path_factory.getbasetemp())
    for h in logging.getLogger().handlers:
        h.flush()
    secrets: dict[str, str] = {}
    files: list[Path] = []
    for run in runs:
        registered = set(SECRETS)
        for f in run.glob("registered-secrets-gw*.txt"):
            registered |= set(f.read_text(encoding="utf-8").splitlines())
        secrets |= suite_secrets(run, registered)
        files += log_files(run)
    assert TEST_PASSWORD in secrets and files
    hits = scan(files, secrets)
    logging.getLogger("tests.secrets").info(
        "scanned %d log files for %d secrets: %d hits", len(files), len(secrets), len(hits)
    )
    assert not hits, hits
