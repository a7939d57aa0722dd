"""Seed the demo scenario on the running development chain (idempotent).

Creates the demo keys (encrypted), funds them from the development chain,
deploys the suite (or verifies the existing deployment), admits the demo
members, seeds each capability's part, creates demo API keys and prints them.
Thin entry point: the scenario lives in ``ledger.demo``.
"""

from __future__ import annotations

import importlib
import sys

from api.apikeys import ApiKeyStore, engine_for
from ledger.cli.output import ok, run_guarded, say
from ledger.client import Ledger
from ledger.config import Settings
from ledger.demo import API_KEYS, COUNCIL, MEMBERS, DemoContext, seed_members
from ledger.deploy import CouncilSeat, DeployParams, deploy
from ledger.devchain import fund
from ledger.keys import Keystore, read_password

CAPABILITIES = ["ledger.demo.data", "ledger.demo.fund"]


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
    for module in CAPABILITIES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue  # that capability is not built yet
        mod.seed(ctx)
    store = ApiKeyStore(engine_for(settings.service_db_url))
    keys_file = settings.manifest_path.parent / "demo-api-keys.txt"
    have = {k.label for k in store.list() if k.revoked_at is None}
    lines = []
    for label, role in API_KEYS.items():
        name = f"demo:{label}"
        if name in have:
            continue
        token, _ = store.create(name, role, signers[label].address, label)
        lines.append(f"{label:14} {role:16} {token}")
    if lines:
        with keys_file.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        keys_file.chmod(0o600)
    ok(f"demo seeded; API keys in {keys_file}:")
    say(keys_file.read_text(encoding="utf-8") if keys_file.exists() else "(none)")


if __name__ == "__main__":
    sys.exit(run_guarded(main))
