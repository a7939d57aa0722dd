"""The CLI in a process of its own, for the tests that check what it prints and how it exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COGOV = [sys.executable, "-m", "cogov"]


def audit_verify(root: Path, rpc_url: str, manifest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``cogov audit verify`` against ``rpc_url`` and ``manifest``; its latest report under ``root``."""
    env = {**os.environ, "COGOV_AUDIT_REPORT_PATH": str(root / "latest.json")}
    return subprocess.run(
        [*COGOV, "--rpc-url", rpc_url, "--manifest", str(manifest), "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def verify_receipt(
    rpc_url: str, manifest: Path, receipt: Path, *args: str, api_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``cogov data verify-receipt RECEIPT *args`` against ``rpc_url`` and ``manifest``."""
    env = {**os.environ, **({"COGOV_API_KEY": api_key} if api_key else {})}
    return subprocess.run(
        [*COGOV, "--rpc-url", rpc_url, "--manifest", str(manifest), "data", "verify-receipt", str(receipt), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
