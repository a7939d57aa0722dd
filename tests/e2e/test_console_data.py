"""The member console's data-sharing roles in Chromium, at 1280 and 390 px: a department requests,
the owner approves, data governance approves, the requester fetches and the page shows the rows
decrypted in the browser; an owner denies a request with a reason code, renews a grant and revokes
one; data governance freezes a grant; CSRF, visibility and a revoked key's session; no console
errors, no serious axe-core violations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cogov.demo.data import BINS, ELDERLY
from ledger.client import ContractCall
from ledger.data import DataSharing, GrantState, RequestState, Terms
from ledger.gateway import generate_keypair, write_private_key
from ledger.refusals import WORDS
from tests.e2e.conftest import WIDTHS, Console, DemoChain, confirmed, shot, written


def _dataset(ds: DataSharing, title: str) -> int:
    return next(i for i in range(1, ds.dataset_count() + 1) if ds.dataset(i).title == title)


@pytest.mark.parametrize("width", WIDTHS)
def test_request_two_approvals_fetch_decrypted(console: Console, console_chain: DemoChain, width: int) -> None:
    ds = DataSharing(console_chain.ledger)
    elderly = _dataset(ds, ELDERLY)
    purpose = f"console test {width}: 走访独居老人"  # a request of its own at each width

    jdb = console.page("jiedaoban", width)
    assert jdb.url.endswith("/console/data")  # the department's home
    console.check(jdb)
    console.click(jdb, "summary:has-text('申请访问数据')")
    console.select(jdb, "#rq-dataset", str(elderly))
    console.fill(jdb, "#rq-fields", "age,district")
    console.select(jdb, "#rq-code", "7")
    console.fill(jdb, "#rq-purpose", purpose)
    console.click(jdb, "[data-testid=request-submit]")
    confirmed(jdb)
    console.check(jdb)
    request_id = ds.request_count()
    assert ds.request(request_id).state == RequestState.PENDING

    owner = console.page("minzhengju", width)
    row = owner.locator(f"[data-testid=waiting] tr[data-request='{request_id}']")
    assert purpose in row.inner_text()  # the owner reads the purpose statement
    shot(owner, "console-department", at_phone=True)  # at 390, what a phone shows first: the requests waiting
    console.click(owner, f"[data-testid=approve-{request_id}]")
    confirmed(owner)
    assert ds.request(request_id).state == RequestState.PARTIALLY_APPROVED

    gov = console.page("shujuju", width)
    assert gov.url.endswith("/console/governance")
    console.check(gov)
    shot(gov, "console-data-governance")
    console.click(gov, f"[data-testid=approve-{request_id}]")
    confirmed(gov)
    assert ds.request(request_id).state == RequestState.GRANTED

    jdb.goto(console.url + "/console/data")
    console.select(jdb, "#fetch-dataset", str(elderly))
    key_file = console_chain.settings.manifest_path.parent / "data-keys" / "jiedaoban.x25519"
    sent: list[str] = []
    jdb.on("request", lambda r: sent.append(f"{r.url} {r.post_data or ''}"))
    console.upload(jdb, "#fetch-key", key_file)  # read by the page, never sent
    console.click(jdb, "[data-testid=fetch]")
    table = jdb.wait_for_selector("[data-testid=decrypted]", timeout=30_000)
    private = json.loads(key_file.read_text(encoding="utf-8"))["private_key"]
    assert any("/fetch" in s for s in sent) and not any(private in s for s in sent)
    head = [h.strip() for h in jdb.locator("[data-testid=decrypted] thead th").all_inner_texts()]
    assert head == ["age", "district"], head  # only the grant's fields: its newest grant, this width's
    assert "幸福里" in table.inner_text()
    shot(jdb, "console-department-fetch")
    console.check(jdb)


def _granted(chain: DemoChain, requester: str, title: str, purpose: str, owner: str | None = "chengguan") -> int:
    """A request of ``requester`` for every field of ``title`` (30 days), approved by ``owner`` unless
    None: the grant's id (or, unapproved, the request's)."""
    ds = DataSharing(chain.ledger)
    dataset = _dataset(ds, title)
    mask = (1 << ds.dataset(dataset).field_count) - 1
    r = written(chain, requester, lambda h: ds.request_access_call(dataset, Terms(9, h, mask, 30 * 86400)),
                ("purpose", purpose))
    request_id = int(r.event("AccessRequested").args["requestId"])
    if owner is None:
        return request_id
    ds.approve_as_owner(chain.signers[owner], request_id)
    return ds.request(request_id).grant_id


@pytest.mark.parametrize("width", WIDTHS)
def test_an_owner_denies_with_a_reason(console: Console, console_chain: DemoChain, width: int) -> None:
    """城管 denies 卫健委's request for its bin readings, the reason picked from the list: 卫健委's
    page shows the request denied and why, in words; the chain holds the reason code."""
    ds = DataSharing(console_chain.ledger)
    code = 2 if width == 1280 else 3  # 范围过大, 法律限制
    request_id = _granted(console_chain, "weijianwei", BINS, f"console test {width}: 评估清运与门诊", owner=None)
    owner = console.page("chengguan", width)
    console.select(owner, f"#reason-{request_id}", str(code))
    console.click(owner, f"[data-testid=deny-{request_id}]")
    confirmed(owner)
    r = ds.request(request_id)
    assert r.state == RequestState.DENIED and r.deny_reason == code
    owner.goto(console.url + "/console/data")
    assert owner.locator(f"[data-testid=waiting] tr[data-request='{request_id}']").count() == 0

    requester = console.page("weijianwei", width)
    row = requester.locator(f"[data-testid=asked] tr[data-request='{request_id}']").inner_text()
    assert "已拒绝" in row and ("范围过大" if code == 2 else "法律限制") in row, row
    console.check(requester)


def _key_file(tmp_path: Path) -> Path:
    """A key file for the fetch form (the refusal comes before anything is opened with it)."""
    path = tmp_path / "key.x25519"
    write_private_key(path, generate_keypair()[0])
    return path


def _fetch_refused(console: Console, page: Any, dataset: int, key: Path, words: str) -> None:
    """The holder's page, loaded while its grant was active, fetches: refused, in words."""
    console.select(page, "#fetch-dataset", str(dataset))
    console.upload(page, "#fetch-key", key)
    console.click(page, "[data-testid=fetch]")
    error = page.locator("[data-fetch-error]")
    error.wait_for(state="visible")
    assert words in error.inner_text() and "Data" not in error.inner_text(), error.inner_text()
    assert page.locator("[data-testid=decrypted]").count() == 0
    page.errors.clear()  # the refusal answers 403, as the API would: the browser logs that status


@pytest.mark.parametrize("width", WIDTHS)
def test_an_owner_renews_then_revokes_a_grant(console: Console, console_chain: DemoChain, width: int,
                                               tmp_path: Path) -> None:
    """城管 extends 卫健委's grant on its bin readings by 45 days (the new end shown as a local date),
    then revokes it: gone from what 卫健委 can fetch, and its fetch refused in words."""
    ds = DataSharing(console_chain.ledger)
    grant_id = _granted(console_chain, "weijianwei", BINS, f"console test {width}: 续期与撤销")
    bins, before = _dataset(ds, BINS), ds.grant(grant_id).expires_at
    holder = console.page("weijianwei", width)
    assert holder.locator(f"#fetch-dataset option[value='{bins}']").count() == 1

    owner = console.page("chengguan", width)
    console.fill(owner, f"#days-{grant_id}", "45")
    console.click(owner, f"[data-testid=renew-{grant_id}]")
    confirmed(owner)
    after = ds.grant(grant_id).expires_at
    assert after == before + 45 * 86400
    owner.goto(console.url + "/console/data")
    row = owner.locator(f"[data-testid=given] tr[data-grant='{grant_id}']")
    local = dt.datetime.fromtimestamp(after, dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    assert local in row.inner_text(), row.inner_text()  # the chain's new expiry, as a Beijing-time date
    console.check(owner)

    console.click(owner, f"[data-testid=revoke-{grant_id}]")
    confirmed(owner)
    assert ds.grant(grant_id).revoked_at > 0 and ds.grant(grant_id).state == GrantState.REVOKED
    _fetch_refused(console, holder, bins, _key_file(tmp_path), "撤销")
    holder.goto(console.url + "/console/data")
    assert "已撤销" in holder.locator(f"[data-testid=held] tr[data-grant='{grant_id}']").inner_text()
    assert holder.locator(f"#fetch-dataset option[value='{bins}']").count() == 0  # nothing left to fetch
    console.check(holder)


@pytest.mark.parametrize("width", WIDTHS)
def test_data_governance_freezes_a_grant(console: Console, console_chain: DemoChain, width: int,
                                         tmp_path: Path) -> None:
    """区数据局 freezes 卫健委's grant on the bin readings: shown frozen on both pages, the chain
    says frozen, and 卫健委's fetch is refused in words."""
    ds = DataSharing(console_chain.ledger)
    grant_id = _granted(console_chain, "weijianwei", BINS, f"console test {width}: 冻结")
    bins = _dataset(ds, BINS)
    holder = console.page("weijianwei", width)

    gov = console.page("shujuju", width)
    console.click(gov, f"[data-testid=freeze-{grant_id}]")
    confirmed(gov)
    assert ds.grant(grant_id).frozen and ds.grant(grant_id).state == GrantState.FROZEN
    gov.goto(console.url + "/console/governance")
    assert "已冻结" in gov.locator(f"[data-testid=grants] tr[data-grant='{grant_id}']").inner_text()
    assert gov.locator(f"[data-testid=unfreeze-{grant_id}]").count() == 1
    shot(gov, "console-data-governance", desktop=False, at_phone=True)
    console.check(gov)

    _fetch_refused(console, holder, bins, _key_file(tmp_path), "冻结")
    holder.goto(console.url + "/console/data")
    assert "已冻结" in holder.locator(f"[data-testid=held] tr[data-grant='{grant_id}']").inner_text()
    assert holder.locator(f"#fetch-dataset option[value='{bins}']").count() == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_homes_at_each_width(console: Console, width: int) -> None:
    for label, home in (("chengguan", "/console/data"), ("shujuju", "/console/governance")):
        page = console.page(label, width)
        assert page.url.endswith(home)
        console.check(page)  # at 390: nothing wider than the screen


def _session(page: Any, url: str) -> tuple[httpx.Client, str]:
    """An HTTP client with the browser's session cookie, and the page's CSRF token."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.Client(base_url=url, cookies=cookies), page.get_attribute("input[name=csrf]", "value")


def _mined_since(chain: DemoChain, block: str, call: ContractCall) -> bool:
    """Whether a transaction carrying ``call`` was mined after ``block`` (others may have been: the
    gateway anchors its access logs in the background)."""
    head = int(chain.ledger.rpc("eth_blockNumber", []), 16)
    for n in range(int(block, 16) + 1, head + 1):
        for tx in chain.ledger.rpc("eth_getBlockByNumber", [hex(n), True])["transactions"]:
            if str(tx["to"]).lower() == str(call.to).lower() and tx["input"] == call.data:
                return True
    return False


def test_csrf_refused_without_token(console: Console, console_chain: DemoChain) -> None:
    page = console.page("chengguan")  # 城管 owns the bin readings: grant 2 is on its dataset
    ds = DataSharing(console_chain.ledger)
    before = console_chain.ledger.rpc("eth_blockNumber", [])
    grant = ds.grant(2)
    h, token = _session(page, console.url)
    with h:
        r = h.post("/console/grants/2/revoke", data={"idem": "csrf-test-1", "back": "/console/data"})
        assert r.status_code == 403, r.text
        r = h.post("/console/grants/2/revoke", data={"csrf": "wrong", "idem": "csrf-test-2"})
        assert r.status_code == 403
        r = h.post("/console/grants/2/revoke", headers={"X-CSRF-Token": token + "x"})
        assert r.status_code == 403
        assert not _mined_since(console_chain, before, ds.revoke_call(2))  # nothing sent
        assert ds.grant(2) == grant
        r = h.post("/console/grants/2/revoke", data={"csrf": token, "idem": "csrf-test-3", "back": "/console/data"},
                   follow_redirects=False)  # the same post with the token: revoked
        assert r.status_code == 303 and r.headers["location"].startswith("/console/tx/0x")
    console_chain.ledger.wait(r.headers["location"].split("/")[3].split("?")[0])  # sent detached: its receipt
    assert ds.grant(2).revoked_at > 0 and _mined_since(console_chain, before, ds.revoke_call(2))


def test_refusal_in_words(console: Console, console_chain: DemoChain) -> None:
    """A write the chain refuses shows the contract's reason as a sentence, not the error's name."""
    page = console.page("chengguan")
    h, token = _session(page, console.url)
    with h:
        r = h.post("/console/requests/4/approve", data={"csrf": token, "idem": "refusal-1"})
        page.set_content(r.text)
    refusal = page.locator("[data-testid=refusal]")
    error = refusal.get_attribute("data-error")
    assert r.status_code in (403, 409) and error is not None and error.startswith("Data")
    assert error in WORDS and error not in refusal.inner_text()  # a sentence of its own, not the name


def test_a_member_sees_only_its_own(console: Console) -> None:
    """住建委, party to no request or grant, sees none of 街道办's requests, their purposes, nor any
    grant; its fetch of 民政局's registry is refused, in words."""
    page = console.page("zhujianwei")
    text = page.inner_text("main")
    for private in ("为高龄独居老人安排上门探访", "优化清运路线", "走访独居老人", "needs_visit"):
        assert private not in text
    for table in ("waiting", "given", "asked", "held", "log"):
        assert page.locator(f"[data-testid={table}]").count() == 0, table
    h, token = _session(page, console.url)
    with h:
        r = h.post("/console/data/datasets/1/fetch", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert r.status_code == 403 and "无授权" in r.json()["words"], r.text  # the refusal in words
    console.check(page)


def test_revoked_key_ends_its_session(console: Console, console_chain: DemoChain) -> None:
    from api.apikeys import ApiKeyStore, engine_for

    store = ApiKeyStore(engine_for(console_chain.settings.service_db_url))
    token, key = store.create("console:revoked", "department", console_chain.signers["chengguan"].address, "chengguan")
    console.keys["revoked"] = token
    page = console.page("revoked")
    assert page.url.endswith("/console/data")
    store.revoke(key.key_id)
    page.goto(console.url + "/console/data")
    assert "/console/sign-in" in page.url
    assert page.locator("[data-testid=sign-in-reason]").count() == 1
    page.goto(console.url + "/console/data")  # the session is gone, not only refused once
    assert "/console/sign-in" in page.url


def test_register_and_new_version(console: Console, console_chain: DemoChain, tmp_path: Any) -> None:
    """A department registers a dataset (a multipart form: its CSRF token is a form field too) and
    uploads a new version; each followed to its confirmation."""
    data = tmp_path / "counts.csv"
    data.write_text("street,count\n幸福里,3\n和平里,5\n", encoding="utf-8")
    page = console.page("weijianwei")
    page.click("text=登记新数据集")
    page.fill("#reg-title", "console test: 社区计数")
    page.select_option("#reg-class", "internal")
    page.set_input_files("#reg-file", str(data))
    page.click("form[action='/console/data/datasets'] button[type=submit]")
    confirmed(page)
    ds = DataSharing(console_chain.ledger)
    dataset_id = ds.dataset_count()
    assert ds.dataset(dataset_id).title == "console test: 社区计数" and ds.dataset(dataset_id).version == 1
    page.click("[data-testid=back]")
    data.write_text("street,count\n幸福里,4\n和平里,5\n光明里,1\n", encoding="utf-8")
    page.set_input_files(f"#version-{dataset_id}", str(data))
    page.click(f"form[action='/console/data/datasets/{dataset_id}/version'] button[type=submit]")
    confirmed(page)
    assert ds.dataset(dataset_id).version == 2
    console.check(page)


def test_a_removed_members_session_ends(console: Console, console_chain: DemoChain) -> None:
    """The council removes a member: its session ends at its next request (as its API key is refused).
    The member is admitted for this test, so no other test loses one of the demo's."""
    from eth_account import Account

    from api.apikeys import ApiKeyStore, engine_for
    from cogov.demo.scenario import COUNCIL
    from ledger.membership import ChangeKind, MemberKind, Registry, Role

    council = [console_chain.signers[label] for label in COUNCIL]
    registry = Registry(console_chain.ledger)
    account = Account.create().address
    member = registry.admit(council, "控制台测试企业", MemberKind.ENTERPRISE, [Role.CONTRIBUTOR], account)
    store = ApiKeyStore(engine_for(console_chain.settings.service_db_url))
    console.keys["removed"] = store.create("console:removed", "contributor", account, "removed")[0]
    page = console.page("removed")
    assert "/console/sign-in" not in page.url
    registry.enact(council, ChangeKind.REMOVE_MEMBER, member)
    page.goto(console.url + "/console/")
    assert "/console/sign-in?reason=ended" in page.url
    assert page.locator("[data-testid=sign-in-reason]").count() == 1
