"""The demo scenario itself: its members, its context, the bootstrap, the capabilities' seeding
and the demo API keys (re-exported by :mod:`cogov.demo`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ledger.client import Ledger
from ledger.config import Settings
from ledger.keys import Keystore, Signer
from ledger.membership import MemberKind, Registry, Role
from ledger.testing import MemberSpec, admit_members, deploy_and_admit, open_signers

# label -> (organisation name, kind, roles). The first three form the council.
COUNCIL: dict[str, MemberSpec] = {
    "jiedaoban": ("街道办", MemberKind.DEPARTMENT, [Role.DEPARTMENT, Role.SUB_DISTRICT]),
    "minzhengju": ("民政局", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "shujuju": ("区数据局", MemberKind.DEPARTMENT, [Role.DATA_GOVERNANCE]),
}
MEMBERS: dict[str, MemberSpec] = {
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
    "zhujianwei": ("住建委", MemberKind.DEPARTMENT, [Role.DEPARTMENT]),
    "quzhongxin": ("区城市运行管理服务中心", MemberKind.DEPARTMENT, [Role.DEPARTMENT, Role.DISTRICT]),
    "rexian": ("12345市民服务热线", MemberKind.DEPARTMENT, [Role.CHANNEL]),
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
    "zhujianwei": "department",
    "quzhongxin": "district",
    "rexian": "channel",
}


def _quiet(_message: str) -> None:
    pass


@dataclass
class DemoContext:
    settings: Settings
    ledger: Ledger
    keystore: Keystore
    signers: dict[str, Signer]
    say: Callable[[str], None]
    state_dir: Path
    member_ids: dict[str, int] = field(default_factory=dict)
    #: What :func:`bootstrap` deployed (nothing when the manifest's deployment was complete).
    deployed: list[str] = field(default_factory=list)

    @property
    def registry(self) -> Registry:
        return Registry(self.ledger)

    @property
    def council(self) -> list[Signer]:
        return [self.signers[label] for label in COUNCIL]


def seed_members(ctx: DemoContext) -> None:
    """Admit every demo member that is not in the registry yet (on a deployment made elsewhere)."""
    ctx.member_ids.update(admit_members(ctx.ledger, COUNCIL, MEMBERS, ctx.signers, ctx.say))


def bootstrap(
    settings: Settings, password: str, say: Callable[[str], None] = _quiet, state_dir: Path | None = None
) -> DemoContext:
    """The demo's keys (created when missing) in ``settings.keystore_dir``, funded from the
    development chain, the suite deployed at ``settings.rpc_urls`` (or the deployment of
    ``settings.manifest_path`` verified), the demo members admitted. Plain files of the
    scenario go to ``state_dir`` (default: beside the manifest)."""
    keystore = Keystore(settings.keystore_dir)
    signers = open_signers(keystore, ["deployer", *COUNCIL, *MEMBERS], password)
    done = deploy_and_admit(
        settings.rpc_urls, signers, settings.manifest_path, COUNCIL, MEMBERS,
        confirmations=settings.confirmations, say=say,
        threshold=2, fund_quorum=2, fund_timelock=60,  # a 60-second time lock: the demo moves chain time past it
    )
    return DemoContext(
        settings, done.ledger, keystore, done.signers, say, state_dir or settings.manifest_path.parent,
        done.member_ids, done.deployed,
    )


#: Each capability's part of the demo, seeded in this order.
CAPABILITIES = ["cogov.demo.data", "cogov.demo.fund", "cogov.demo.cases"]


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
