"""Build go-ethereum v1.13.15 (the last release that seals Clique blocks) into the project.

``go install`` from the Go module proxy only (the default ``GOPROXY``), into a
project-local bin directory (``.cogov/bin/geth``) through ``GOBIN``. The
``-checklinkname=0`` linker flag lets Go >= 1.23 link ``fjl/memsize``, which
reaches into the runtime through ``go:linkname`` (without it the link fails
with ``invalid reference to runtime.stopTheWorld``). See network/README.md for
what was tried and measured.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ledger.config import STATE_DIR
from ledger.errors import GethUnavailable

log = logging.getLogger("ledger.network")

GETH_VERSION = "1.13.15"
GETH_MODULE = "github.com/ethereum/go-ethereum/cmd/geth"
LDFLAGS = "-checklinkname=0"
DEFAULT_BIN_DIR = STATE_DIR / "bin"


def geth_version(binary: Path) -> str | None:
    """The version a geth binary reports (e.g. ``1.13.15-stable``), None if it does not run."""
    try:
        res = subprocess.run(
            [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    for line in res.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def installed_geth(bin_dir: Path = DEFAULT_BIN_DIR) -> Path | None:
    """The project's geth when it is there and is the pinned version."""
    binary = bin_dir / "geth"
    if binary.is_file() and (geth_version(binary) or "").startswith(GETH_VERSION):
        return binary
    return None


def install_command() -> list[str]:
    return ["go", "install", f"-ldflags={LDFLAGS}", f"{GETH_MODULE}@v{GETH_VERSION}"]


def ensure_geth(
    bin_dir: Path = DEFAULT_BIN_DIR, progress: Callable[[str], None] | None = None, timeout: float = 1800.0
) -> Path:
    """Return the pinned geth, building it with ``go install`` first if it is missing.

    Raises :class:`GethUnavailable` with the tail of Go's output when the build fails.
    """
    found = installed_geth(bin_dir)
    if found is not None:
        return found
    go = shutil.which("go")
    if go is None:
        raise GethUnavailable(
            "geth is not installed and Go is not on PATH: install Go, then run `make geth`"
        )
    bin_dir.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ, GOBIN=str(bin_dir.resolve()))
    # Module mode outside any go.mod: `go install pkg@version` uses geth's own go.mod/go.sum.
    environment.pop("GOFLAGS", None)
    say = progress or (lambda _m: None)
    say(f"building geth v{GETH_VERSION} with `{' '.join(install_command())}` (minutes, once)")
    started = time.monotonic()
    try:
        res = subprocess.run(
            install_command(), env=environment, cwd=bin_dir, capture_output=True, text=True, timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GethUnavailable(f"building geth took longer than {timeout:.0f}s") from exc
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-15:])
        raise GethUnavailable(f"`go install` of geth v{GETH_VERSION} failed:\n{tail}")
    found = installed_geth(bin_dir)
    if found is None:
        raise GethUnavailable(f"`go install` succeeded but {bin_dir / 'geth'} is not v{GETH_VERSION}")
    log.info("built geth v%s in %.0fs", GETH_VERSION, time.monotonic() - started)
    return found
