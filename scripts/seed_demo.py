"""Seed the demo scenario on the running development chain (idempotent).

Creates the demo keys (encrypted), funds them from the development chain,
deploys the suite (or verifies the existing deployment), admits the demo
members, seeds each capability's part, creates demo API keys and prints them.
Thin entry point: the scenario lives in ``cogov.demo``.
"""

from __future__ import annotations

import sys

from cogov.demo import COUNCIL, MEMBERS, DemoContext, issue_api_keys, seed_capabilities, seed_members
from cogov.output import ok, run_guarded, say
from ledger.client import Ledger
from ledger.config import Settings
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.devchain import fund
from ledger.keys import Keystore, read_password


def main() -> None:
    settings = Settings()
    password = read_password()
    ks = Keystore(settings.keystore_dir)
    led = Ledger(settings.rpc_urls, confirmations=settings.confirmations)
    labels = ["deployer", *COUNCIL, *MEMBERS]
    existing = {k.label for k in ks.list()}
    for label in labels:
        if label not in existing:
            ks.create(label, password)
    signers = {label: ks.signer(label, password) for label in labels}
    for s in signers.values():
        fund(led, s.address)
    params = DeployParams(
        council=[
            CouncilSeat(name=name, kind=kind, roles=roles, account=signers[label].address)
            for label, (name, kind, roles) in COUNCIL.items()
        ],
        threshold=2,
        fund_quorum=2,
        fund_timelock=60,
    )
    result = deploy(led, signers["deployer"], params, settings.manifest_path, say)
    if result.deployed:
        ok(f"deployed {', '.join(result.deployed)}")
    else:
        ok("deployment up to date")
    ctx = DemoContext(settings, led, ks, signers, say, settings.manifest_path.parent)
    seed_members(ctx)
    seed_capabilities(ctx)
    keys_file = issue_api_keys(ctx)
    ok(f"demo seeded; API keys in {keys_file}:")
    say(keys_file.read_text(encoding="utf-8") if keys_file.exists() else "(none)")


if __name__ == "__main__":
    sys.exit(run_guarded(main))
