"""The member console's data-sharing roles in Chromium: a department requests, the owner approves,
data governance approves, the requester fetches and the page shows the rows decrypted in the
browser; CSRF, visibility and a revoked key's session; no console errors, no serious axe-core
violations, at 1280 and 390 px."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cogov.demo.data import ELDERLY
from ledger.data import DataSharing, RequestState
from ledger.refusals import WORDS
from tests.e2e.conftest import REPO, WIDTHS, Console, DemoChain

SHOTS = REPO / "docs" / "screenshots"


def _confirmed(page: Any) -> None:
    """On a transaction's page: followed live until confirmed."""
    page.wait_for_url("**/console/tx/**")
    page.wait_for_selector("[data-testid=tx-state][data-state=confirmed]", timeout=30_000)


def test_request_two_approvals_fetch_decrypted(console: Console, console_chain: DemoChain) -> None:
    ds = DataSharing(console_chain.ledger)
    elderly = next(i for i in range(1, ds.dataset_count() + 1) if ds.dataset(i).title == ELDERLY)
    purpose = "console test: 走访独居老人"

    jdb = console.page("jiedaoban")
    assert jdb.url.endswith("/console/data")  # the department's home
    console.check(jdb)
    jdb.click("text=申请访问数据")
    jdb.select_option("#rq-dataset", str(elderly))
    jdb.fill("#rq-fields", "age,district")
    jdb.select_option("#rq-code", "7")
    jdb.fill("#rq-purpose", purpose)
    jdb.click("[data-testid=request-submit]")
    _confirmed(jdb)
    console.check(jdb)
    request_id = ds.request_count()
    assert ds.request(request_id).state == RequestState.PENDING

    owner = console.page("minzhengju")
    row = owner.locator(f"[data-testid=waiting] tr[data-request='{request_id}']")
    assert purpose in row.inner_text()  # the owner reads the purpose statement
    owner.screenshot(path=str(SHOTS / "console-department.png"), full_page=True)
    owner.click(f"[data-testid=approve-{request_id}]")
    _confirmed(owner)
    assert ds.request(request_id).state == RequestState.PARTIALLY_APPROVED

    gov = console.page("shujuju")
    assert gov.url.endswith("/console/governance")
    console.check(gov)
    gov.screenshot(path=str(SHOTS / "console-data-governance.png"), full_page=True)
    gov.click(f"[data-testid=approve-{request_id}]")
    _confirmed(gov)
    assert ds.request(request_id).state == RequestState.GRANTED

    jdb.goto(console.url + "/console/data")
    jdb.select_option("#fetch-dataset", str(elderly))
    key_file = console_chain.settings.manifest_path.parent / "data-keys" / "jiedaoban.x25519"
    sent: list[str] = []
    jdb.on("request", lambda r: sent.append(f"{r.url} {r.post_data or ''}"))
    jdb.set_input_files("#fetch-key", str(key_file))  # read by the page, never sent
    jdb.click("[data-testid=fetch]")
    table = jdb.wait_for_selector("[data-testid=decrypted]", timeout=30_000)
    private = json.loads(key_file.read_text(encoding="utf-8"))["private_key"]
    assert any("/fetch" in s for s in sent) and not any(private in s for s in sent)
    text = table.inner_text()
    assert "age" in text and "district" in text and "幸福里" in text
    assert "name" not in text.split("\n")[0]  # only the grant's fields
    jdb.screenshot(path=str(SHOTS / "console-department-fetch.png"), full_page=True)
    console.check(jdb)


@pytest.mark.parametrize("width", WIDTHS)
def test_homes_at_each_width(console: Console, width: int) -> None:
    for label, home in (("chengguan", "/console/data"), ("shujuju", "/console/governance")):
        page = console.page(label, width)
        assert page.url.endswith(home)
        console.check(page)
        if width == 390:  # usable at phone width: nothing wider than the screen but the tables' own scroll
            assert page.evaluate("document.documentElement.scrollWidth") <= width


def _session(page: Any, url: str) -> tuple[httpx.Client, str]:
    """An HTTP client with the browser's session cookie, and the page's CSRF token."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.Client(base_url=url, cookies=cookies), page.get_attribute("input[name=csrf]", "value")


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
        assert console_chain.ledger.rpc("eth_blockNumber", []) == before  # nothing sent
        assert ds.grant(2) == grant
        r = h.post("/console/grants/2/revoke", data={"csrf": token, "idem": "csrf-test-3", "back": "/console/data"},
                   follow_redirects=False)  # the same post with the token: revoked
        assert r.status_code == 303 and r.headers["location"].startswith("/console/tx/0x")
    console_chain.ledger.wait(r.headers["location"].split("/")[3].split("?")[0])  # sent detached: its receipt
    assert ds.grant(2).revoked_at > 0


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
    assert r.status_code == 403 and r.json()["words"], r.text
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
    _confirmed(page)
    ds = DataSharing(console_chain.ledger)
    dataset_id = ds.dataset_count()
    assert ds.dataset(dataset_id).title == "console test: 社区计数" and ds.dataset(dataset_id).version == 1
    page.click("[data-testid=back]")
    data.write_text("street,count\n幸福里,4\n和平里,5\n光明里,1\n", encoding="utf-8")
    page.set_input_files(f"#version-{dataset_id}", str(data))
    page.click(f"form[action='/console/data/datasets/{dataset_id}/version'] button[type=submit]")
    _confirmed(page)
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
