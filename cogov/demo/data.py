"""The demo's data-sharing part: three departments' datasets, requests, grants, a denial, an expiry.

* 民政局 owns an elderly-residents registry (sensitive; synthetic, clearly fake names);
* 城管 owns smart-bin sensor readings (internal) and the public toilets' and sorting points'
  locations (public: the portal lists it, the anonymous DCAT-AP catalog shows it); 卫健委 owns
  clinic capacity (internal);
* each dataset carries its catalog fields (description, keywords, EU data themes, contact point,
  licence: ``ledger/gateway/metadata.py``), published by ``GET /api/v1/catalog``;
* 街道办 gets the registry's age/district/needs_visit fields of 幸福里's rows only, at most 30
  accesses, not to be passed on (purpose 7 社会救助; 民政局 approves, 区数据局 gives the second
  approval), gets two of the bin readings' four fields (purpose 9 城市管理), is denied clinic
  capacity, and holds one bin-reading grant of 1 second that has expired by the time anyone looks.

Idempotent: datasets are found by (owner member, title), so another member's dataset of the same
title is never taken for the demo's (issue 14 item 22); requests by (requester, dataset, duration),
on the demo's own datasets only.
Plain source files and 街道办's X25519 key file live under ``ctx.state_dir``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from cogov.demo.scenario import DemoContext
from ledger.data import (
    AccessRequest,
    Classification,
    Dataset,
    DataSharing,
    RequestState,
    Terms,
    content_hash,
    field_mask,
)
from ledger.data import row_filter as rf
from ledger.fund.docs import open_store
from ledger.gateway import Gateway, GatewayStore, generate_keypair, load_master_key, load_private_key, write_private_key
from ledger.gateway.crypto import public_bytes
from ledger.gateway.metadata import CatalogFields, Contact
from ledger.membership import ChangeKind

ELDERLY = "高龄独居老人登记册（合成数据）"
BINS = "智能垃圾桶传感器读数"
CLINICS = "社区诊所接诊能力"
FACILITIES = "公共厕所与垃圾分类投放点位"
LONG = 90 * 24 * 3600


def _file(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _elderly_csv() -> bytes:
    rng = random.Random(7)
    lines = ["resident_id,name,age,district,lives_alone,needs_visit"]
    for i in range(1, 41):
        age = rng.randint(70, 98)
        district = rng.choice(["幸福里", "和平里", "光明里"])
        alone, visit = rng.random() < 0.6, age > 85 or rng.random() < 0.2
        lines.append(f"E{i:04d},虚构居民{i:03d}（合成）,{age},{district},{alone},{visit}")
    return _file(lines)


def _bins_jsonl() -> bytes:
    rng = random.Random(11)
    return _file([
        f'{{"bin_id": "BIN-{i % 12:03d}", "ts": {1_700_000_000 + i * 900}, '
        f'"fill_pct": {rng.randint(5, 100)}, "temp_c": {rng.randint(-2, 35)}}}'
        for i in range(60)
    ])


def _clinics_csv() -> bytes:
    rng = random.Random(3)
    lines = ["clinic,beds,doctors,daily_capacity"]
    for name in ["幸福里卫生服务站", "和平里卫生服务站", "光明里卫生服务站", "中心社区医院"]:
        lines.append(f"{name},{rng.randint(4, 40)},{rng.randint(2, 15)},{rng.randint(40, 300)}")
    return _file(lines)


def _facilities_csv() -> bytes:
    rng = random.Random(5)
    lines = ["site_id,kind,district,open_hours,accessible"]
    for i in range(1, 25):
        kind = rng.choice(["公共厕所", "垃圾分类投放点"])
        district = rng.choice(["幸福里", "和平里", "光明里"])
        hours = "00:00-24:00" if kind == "公共厕所" else rng.choice(["07:00-09:00", "18:00-21:00"])
        lines.append(f"F{i:03d},{kind},{district},{hours},{rng.random() < 0.7}")
    return _file(lines)


#: Each demo dataset's description and catalog fields (fictitious contacts under the reserved .example TLD).
CATALOG: dict[str, tuple[str, CatalogFields]] = {
    ELDERLY: ("辖区内高龄独居老人的年龄、所在社区与探访需求（合成数据，姓名虚构）", CatalogFields(
        license="restricted", keywords=("养老", "独居老人", "上门探访"), themes=("SOCI", "HEAL"),
        contact=Contact("民政局数据管理科", email="data@minzhengju.example", phone="010-8000-0001"))),
    BINS: ("智能垃圾桶的满溢率与温度读数，每 15 分钟一条（合成数据）", CatalogFields(
        license="restricted", keywords=("垃圾分类", "物联网", "清运"), themes=("ENVI", "REGI"),
        contact=Contact("城管委信息中心", email="iot@chengguan.example"))),
    CLINICS: ("社区卫生服务站的床位、医生人数与日接诊能力（合成数据）", CatalogFields(
        license="restricted", keywords=("社区卫生", "接诊能力"), themes=("HEAL",),
        contact=Contact("卫健委统计信息科", phone="010-8000-0003"))),
    FACILITIES: ("公共厕所与垃圾分类投放点的位置、开放时间与无障碍设施（合成数据）", CatalogFields(
        license="cc-by-4.0", keywords=("公共设施", "公共厕所", "垃圾分类", "便民"), themes=("REGI", "ENVI"),
        contact=Contact("城管委信息中心", email="iot@chengguan.example"))),
}


def _data_key(ctx: DemoContext, label: str, keys_dir: Path) -> None:
    """Give ``label`` an X25519 data key (file under state_dir) registered on chain, once."""
    path = keys_dir / f"{label}.x25519"
    if path.exists():
        pub = public_bytes(load_private_key(path))
    else:
        priv, pub = generate_keypair()
        write_private_key(path, priv)
    member = ctx.registry.member(ctx.member_ids[label])
    if member.data_key != "0x" + pub.hex():
        ctx.say(f"registering {label}'s data key (private key in {path})")
        ctx.registry.enact(ctx.council, ChangeKind.SET_DATA_KEY, member.id, pub)


def seed(ctx: DemoContext) -> None:
    data_dir = ctx.state_dir / "demo-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    _data_key(ctx, "jiedaoban", ctx.state_dir / "data-keys")
    s = ctx.settings
    store = GatewayStore(s.gateway_store_dir, load_master_key(s.gateway_master_key_file, create=s.env != "production"))
    owners = {label: ctx.signers[label] for label in ("minzhengju", "chengguan", "weijianwei")}
    by_member = {ctx.member_ids[label]: signer for label, signer in owners.items()}
    gw = Gateway(ctx.ledger, store, lambda m: by_member[m.id])
    ds = DataSharing(ctx.ledger)

    mine: dict[tuple[int, str], Dataset] = {}  # (owner member, title) -> the demo owner's first such dataset
    for i in range(1, ds.dataset_count() + 1):
        d = ds.dataset(i)
        if d.owner_id in by_member:
            mine.setdefault((d.owner_id, d.title), d)
    specs = [
        (ELDERLY, "minzhengju", Classification.SENSITIVE, "elderly.csv", _elderly_csv(), "csv"),
        (BINS, "chengguan", Classification.INTERNAL, "smart_bins.jsonl", _bins_jsonl(), "jsonl"),
        (CLINICS, "weijianwei", Classification.INTERNAL, "clinics.csv", _clinics_csv(), "csv"),
        (FACILITIES, "chengguan", Classification.PUBLIC, "facilities.csv", _facilities_csv(), "csv"),
    ]
    ids: dict[str, int] = {}
    for title, label, cls, filename, content, fmt in specs:
        (data_dir / filename).write_bytes(content)
        found = mine.get((ctx.member_ids[label], title))
        if found is not None:
            ids[title] = found.id
            if found.content_hash == content_hash(content):  # this gateway holds the owner's copy, bound to it
                gw.adopt(ctx.signers[label], found.id, content, fmt)  # type: ignore[arg-type]
            continue
        ctx.say(f"{label} uploads {title}")
        description, catalog = CATALOG[title]
        up = gw.upload(ctx.signers[label], title, cls, content, fmt, description, catalog=catalog)  # type: ignore[arg-type]
        ids[title] = up.dataset_id

    jdb = ctx.signers["jiedaoban"]
    jdb_id = ctx.member_ids["jiedaoban"]
    docs = open_store(ctx.settings)
    existing: list[AccessRequest] = [ds.request(i) for i in range(1, ds.request_count() + 1)]

    def find(dataset_id: int, duration: int) -> AccessRequest | None:
        for r in existing:
            if r.requester_id == jdb_id and r.dataset_id == dataset_id and r.duration == duration and r.state not in (
                RequestState.EXPIRED, RequestState.WITHDRAWN
            ):
                return r
        return None

    def request(
        title: str,
        fields: list[str],
        purpose: tuple[int, str],
        duration: int,
        max_accesses: int = 0,
        row_filter: Mapping[str, object] | None = None,
    ) -> int:
        r = find(ids[title], duration)
        if r is not None:
            return r.id
        ctx.say(f"街道办 requests {title}")
        d = ds.dataset(ids[title])
        names = gw.schema_fields(d)
        # the purpose: a salted commitment on chain, the opening in the service database
        drafts = [docs.draft("purpose", purpose[1])]
        if row_filter is not None:
            drafts.append(docs.draft("row_filter", rf.document_text(row_filter)))  # bound by its canonical hash
        terms = Terms(
            purpose[0],
            drafts[0].hash,
            field_mask(names, fields),
            duration,
            None if row_filter is None else rf.row_filter_hash(row_filter),
            max_accesses,
            no_onward_sharing=max_accesses > 0,
        )
        receipt = docs.transact(ds.ledger, jdb, ds.request_access_call(ids[title], terms), drafts)
        docs.accept(receipt)
        return int(receipt.event("AccessRequested").args["requestId"])

    # sensitive: owner + data governance
    xingfuli = {"all": [{"field": "district", "op": "eq", "value": "幸福里"}]}
    rid = request(
        ELDERLY, ["age", "district", "needs_visit"], (7, "为高龄独居老人安排上门探访"), LONG, 30, xingfuli
    )
    req = ds.request(rid)
    if req.owner_approver is None and req.state in (RequestState.PENDING, RequestState.PARTIALLY_APPROVED):
        ds.approve_as_owner(ctx.signers["minzhengju"], rid)
    if ds.request(rid).state == RequestState.PARTIALLY_APPROVED:
        ds.approve_as_governance(ctx.signers["shujuju"], rid)
    # internal: the owner alone
    bins_fields = ["bin_id", "fill_pct"]
    rid = request(BINS, bins_fields, (9, "优化清运路线"), LONG)
    if ds.request(rid).state == RequestState.PENDING:
        ds.approve_as_owner(ctx.signers["chengguan"], rid)
    # a grant of 1 second: expired by the time anyone looks
    rid = request(BINS, bins_fields, (9, "一次性核对（演示过期授权）"), 1)
    if ds.request(rid).state == RequestState.PENDING:
        ds.approve_as_owner(ctx.signers["chengguan"], rid)
    # denied
    rid = request(CLINICS, ["beds", "clinic", "daily_capacity", "doctors"], (4, "评估社区就诊压力"), LONG)
    if ds.request(rid).state == RequestState.PENDING:
        ds.deny(ctx.signers["weijianwei"], rid, 2)
    ctx.say(f"data sharing: datasets {sorted(ids.values())}; 街道办's data key in {ctx.state_dir / 'data-keys'}")
