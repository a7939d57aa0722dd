"""The demo scenario: a council, departments, contributors, datasets, grants and projects.

:func:`seed` is idempotent: it creates what is missing (keys, the deployment,
members, each capability's part, the demo API keys) and leaves the rest. Each
capability adds its part in its own module (``cogov.demo.data``,
``cogov.demo.fund``) with a ``seed(ctx)`` function. The demo belongs to the
composition root: it writes through ``ledger`` and issues ``api`` keys.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ledger.client import Ledger
from ledger.config import Settings
from ledger.keys import Keystore, Signer
from ledger.membership import Registry
from ledger.roles import MemberKind, Role

# label -> (organisation name, kind, roles). The first three form the council.
COUNCIL = {
    "jiedaoban": ("街道办", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "minzhengju": ("民政局", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "shujuju": ("区数据局", MemberKind.DEPARTMENT, [Role.DATA_GOVERNANCE]),
}
MEMBERS = {
    "weijianwei": ("卫健委", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "chengguan": ("城管", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "caizhengju": ("财政局", MemberKind.DEPARTMENT, [Role.TREASURER, Role.CONTRIBUTOR]),
    "committee-1": ("社区共治委员会·居民代表", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE]),
    "committee-2": ("社区共治委员会·企业代表", MemberKind.ENTERPRISE, [Role.FUND_COMMITTEE]),
    "committee-3": ("社区共治委员会·社工代表", MemberKind.RESIDENT_GROUP, [Role.FUND_COMMITTEE]),
    "shenjiju": ("区审计局", MemberKind.AUDITOR, [Role.AUDITOR]),
    "enterprise-1": ("绿城物业", MemberKind.ENTERPRISE, [Role.CONTRIBUTOR]),
    "enterprise-2": ("便民超市", MemberKind.ENTERPRISE, [Role.CONTRIBUTOR]),
    "resident-1": ("幸福里小区居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
    "resident-2": ("和平里小区居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
    "resident-3": ("光明里小区居民", MemberKind.RESIDENT_GROUP, [Role.CONTRIBUTOR]),
}
# label -> role of the demo API key printed at the end
API_KEYS = {
    "jiedaoban": "council",
    "minzhengju": "council",
    "shujuju": "data_governance",
    "weijianwei": "department",
    "chengguan": "department",
    "caizhengju": "treasurer",
    "committee-1": "fund_committee",
    "committee-2": "fund_committee",
    "committee-3": "fund_committee",
    "shenjiju": "auditor",
    "resident-1": "contributor",
    "enterprise-1": "contributor",
}


@dataclass
class DemoContext:
    settings: Settings
    ledger: Ledger
    keystore: Keystore
    signers: dict[str, Signer]
    say: Callable[[str], None]
    state_dir: Path
    member_ids: dict[str, int] = field(default_factory=dict)

    @property
    def registry(self) -> Registry:
        return Registry(self.ledger)

    @property
    def council(self) -> list[Signer]:
        return [self.signers[label] for label in COUNCIL]


def seed_members(ctx: DemoContext) -> None:
    """Admit every demo member that is not in the registry yet."""
    reg = ctx.registry
    for label in COUNCIL:
        m = reg.member_of(ctx.signers[label].address)
        assert m is not None, f"council seat {label} missing from the deployment"
        ctx.member_ids[label] = m.id
    for label, (name, kind, roles) in MEMBERS.items():
        m = reg.member_of(ctx.signers[label].address)
        if m is None:
            ctx.say(f"admitting {name}")
            ctx.member_ids[label] = reg.admit(ctx.council, name, kind, roles, ctx.signers[label].address)
        else:
            ctx.member_ids[label] = m.id


#: Each capability's part of the demo, seeded in this order.
CAPABILITIES = ["cogov.demo.data", "cogov.demo.fund"]


def seed_capabilities(ctx: DemoContext) -> None:
    """Seed every capability's part of the demo (each module's ``seed(ctx)``)."""
    for module in CAPABILITIES:
        importlib.import_module(module).seed(ctx)


def issue_api_keys(ctx: DemoContext) -> Path:
    """Create the demo API keys that do not exist yet; append them to ``demo-api-keys.txt``
    (mode 0600) beside the manifest and return that file."""
    from api.apikeys import ApiKeyStore, engine_for

    store = ApiKeyStore(engine_for(ctx.settings.service_db_url))
    keys_file = ctx.settings.manifest_path.parent / "demo-api-keys.txt"
    have = {k.label for k in store.list() if k.revoked_at is None}
    lines = []
    for label, role in API_KEYS.items():
        name = f"demo:{label}"
        if name in have:
            continue
        token, _ = store.create(name, role, ctx.signers[label].address, label)
        lines.append(f"{label:14} {role:16} {token}")
    if lines:
        with keys_file.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        keys_file.chmod(0o600)
    return keys_file
