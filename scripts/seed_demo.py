"""Seed the demo scenario on the running development chain (idempotent).

Creates the demo keys (encrypted), funds them from the development chain,
deploys the suite (or verifies the existing deployment), admits the demo
members, seeds each capability's part, creates demo API keys and prints them.
Thin entry point: the scenario lives in ``cogov.demo``.
"""

from __future__ import annotations

import sys

from cogov.demo import bootstrap, issue_api_keys, seed_capabilities
from cogov.output import ok, run_guarded, say
from ledger.config import Settings
from ledger.keys import read_password


def main() -> None:
    ctx = bootstrap(Settings(), read_password(), say)
    ok(f"deployed {', '.join(ctx.deployed)}" if ctx.deployed else "deployment up to date")
    seed_capabilities(ctx)
    keys_file = issue_api_keys(ctx)
    ok(f"demo seeded; API keys in {keys_file}:")
    say(keys_file.read_text(encoding="utf-8") if keys_file.exists() else "(none)")


if __name__ == "__main__":
    sys.exit(run_guarded(main))
