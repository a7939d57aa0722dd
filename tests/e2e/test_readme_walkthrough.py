"""README's "A day with CoGov Ledger", run as it is written: every block marked
``<!-- walkthrough: NAME -->`` is taken from README.md itself and run by bash, in order, against a
freshly seeded demo chain (seeded as `make demo` seeds it, with the Makefile's keystore password)
and its API served over HTTP, from a directory whose ``.cogov`` is the demo's state. Nothing in a
block is substituted: the environment says where the demo is, as `make demo`'s defaults do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, seeded_demo

pytestmark = pytest.mark.ganache

BLOCK = re.compile(r"<!-- walkthrough: ([\w ]+) -->\n```sh\n(.*?)```", re.DOTALL)
#: The Makefile's COGOV_KEYSTORE_PASSWORD, which the README's blocks export.
DEMO_PASSWORD = "cogov-demo-password"
#: What each block must show beyond its exit code (a refused block exits 4, the rest 0).
SHOWS = {
    "data share": ["request 5 is granted; grant 4", "age,district,needs_visit"],
    "refused": ["(ERC20InsufficientBalance)", " 元, less than the 3,000.00 元 needed"],
    "contribution": ["receipt 5: 1,000.00 元", "→ payout 1: 1,000.00 元 to project 1"],
    "case": ["1 of 1 waiting report(s)", '"service_request_id":"6","status":"waiting"', "case 5: closed_fixed",
             "acknowledge by 20", "residents' reports grouped: 1", '"status":"closed"', '"agency_responsible":"城管"'],
    "audit": ["PASSED"],
}


def walkthrough_blocks() -> list[tuple[str, str]]:
    return BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))


@dataclass
class Reader:
    cwd: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    """A fresh demo (chain, keys, API keys) and its API served, seen from a reader's directory."""
    from api.testing import LiveServer
    from tests.reliability.env import settings_env

    root = tmp_path_factory.mktemp("walkthrough")
    with seeded_demo(root, DEMO_PASSWORD) as demo, pytest.MonkeyPatch.context() as patch:
        settings = demo.settings
        cwd = root / "reader"
        cwd.mkdir()
        (cwd / ".cogov").symlink_to(settings.manifest_path.parent)  # .cogov/demo-api-keys.txt
        patch.setenv("COGOV_KEYSTORE_PASSWORD", DEMO_PASSWORD)  # the served gateway opens the demo's keys
        env = settings_env(settings)
        env.pop("COGOV_KEYSTORE_PASSWORD")  # the blocks export the demo's
        with LiveServer(settings) as server:
            env.update(COGOV_API_URL=server.url, COLUMNS="200",
                       PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
            yield Reader(cwd, env)


NAMES = ["data share", "refused", "contribution", "case", "audit"]


def test_the_readme_has_the_walkthroughs_blocks() -> None:
    assert [name for name, _ in walkthrough_blocks()] == NAMES


@pytest.mark.timeout(900)  # the first one seeds the demo; a loaded 2-core machine is slow
@pytest.mark.parametrize("name", NAMES)
def test_the_walkthrough_runs_as_written(reader: Reader, name: str) -> None:
    """Each block in turn (in the README's order: each builds on the one before)."""
    block = dict(walkthrough_blocks())[name]
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=reader.cwd, env=reader.env,
                          capture_output=True, text=True, timeout=600)
    shown = done.stdout + done.stderr
    assert done.returncode == (4 if name == "refused" else 0), f"{name}:\n{shown}"
    for text in SHOWS[name]:
        assert text in shown, f"{name} does not show {text!r}:\n{shown}"
    if name == "data share":
        assert (reader.cwd / "elderly.csv").read_text(encoding="utf-8").count("\n") == 41
    if name == "audit":
        assert (reader.cwd / "audit" / "report.html").exists()
