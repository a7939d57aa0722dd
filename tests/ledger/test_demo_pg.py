"""``make demo-pg``'s setup (``make demo-pg-db``: the rest is ``make demo`` unchanged): the local
cluster of ledger/devdb.py starts in its folder, the index and service URLs are written for the
demo to source, ``cogov db upgrade`` migrates both databases there; ``cogov db local down`` stops it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from api.migrations import SERVICE
from ledger.config import REPO_ROOT
from ledger.index.schema import INDEX


def _make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_demo_pg_db_starts_the_cluster_sets_the_urls_and_upgrades() -> None:
    root = Path(tempfile.mkdtemp(prefix="cogov-demo-pg-"))  # not under pytest's root-only tmp: postgres runs it
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGOV_")}
    try:
        made = _make("demo-pg-db", f"PG_ROOT={root}", env=env)
        assert made.returncode == 0, made.stdout + made.stderr

        urls = dict(line.split("=", 1) for line in (root / "env").read_text().splitlines())
        assert sorted(urls) == ["COGOV_INDEX_DB_URL", "COGOV_SERVICE_DB_URL"]
        port = (root / "port").read_text().strip()
        for var, name in (("COGOV_INDEX_DB_URL", "cogov_index"), ("COGOV_SERVICE_DB_URL", "cogov_service")):
            assert urls[var] == f"postgresql+psycopg://cogov@127.0.0.1:{port}/{name}"
        for schema, url in ((INDEX, urls["COGOV_INDEX_DB_URL"]), (SERVICE, urls["COGOV_SERVICE_DB_URL"])):
            engine = sa.create_engine(url)
            try:
                assert schema.status(engine).at_head and schema.differences(engine) == []
            finally:
                engine.dispose()
    finally:
        stopped = _make("pg-down", f"PG_ROOT={root}", env=env)
        shutil.rmtree(root, ignore_errors=True)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
