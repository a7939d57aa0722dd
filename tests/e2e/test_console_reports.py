"""A resident's report reaching the sub-district, in Chromium: the resident posts it through
Open311 over real HTTP (no key); 街道办, signed in with a sub-district key, finds it under
"居民诉求 · 待处理" with its commitment, ticks it and raises a case from it (the category preset
to the newest report's, then to the ticked one's; 城管 as the lead) through the console's write
path, followed live to confirmed; the report then shows as grouped by the new case, and Open311
answers it with the case's lead department and number. At 1280 and 390 px (no page overflow at
390), no console errors, no serious or critical axe-core violation."""

from __future__ import annotations

import secrets

import httpx
import pytest

from cogov.demo.cases import AREA, BINS, FIRE_LANE  # the demo's community and two categories
from ledger.cases import CaseDesk
from tests.e2e.conftest import WIDTHS, Console, DemoChain, confirmed, shot

SUB = "reports:jiedaoban"


@pytest.fixture
def sub_district(console: Console, console_chain: DemoChain) -> Console:
    """The console with a sub-district key for 街道办 (the demo's key of 街道办 is its council seat's)."""
    from api.apikeys import ApiKeyStore, engine_for

    if SUB not in console.keys:
        store = ApiKeyStore(engine_for(console_chain.settings.service_db_url))
        console.keys[SUB] = store.create(f"console:{SUB}", "sub_district", console_chain.signers["jiedaoban"].address,
                                         "jiedaoban")[0]
    return console


def reported(url: str, text: str, category: int = BINS) -> str:
    """A resident's report through Open311 (form-encoded, no key), as a resident's app sends it."""
    r = httpx.post(f"{url}/open311/v2/requests.json", timeout=60, data={
        "service_code": str(category), "lat": "39.9289", "long": "116.3883", "address_string": "幸福里社区 8 号楼旁",
        "description": text, "email": "resident@example.cn", "phone": "13900000000"})
    assert r.status_code == 200, r.text
    return str(r.json()[0]["service_request_id"])


@pytest.mark.parametrize("width", WIDTHS)
def test_a_report_waits_and_a_case_is_raised_from_it(sub_district: Console, console_chain: DemoChain,
                                                      width: int) -> None:
    text = f"8 号楼旁垃圾桶满溢（控制台 {width}px {secrets.token_hex(2)}）"
    rid = reported(sub_district.url, text)
    reported(sub_district.url, f"5 号楼消防通道被占用（控制台 {width}px）", FIRE_LANE)  # the newest, another category
    page = sub_district.page(SUB, width)
    assert page.url.endswith("/console/cases")  # a sub-district's home
    row = page.locator(f"[data-testid=reports-waiting] tr[data-report='{rid}']")
    assert text in row.inner_text() and "0x" in row.inner_text()  # its commitment, shortened
    assert "resident@example.cn" not in page.content() and "13900000000" not in page.content()
    assert page.locator("#raise-category").input_value() == str(FIRE_LANE)  # the newest report's category
    sub_district.check(page)  # at 390: no sideways scroll
    shot(page, "console-sub-district", at_phone=True)

    sub_district.reach(page, f"[data-testid=pick-{rid}]").check()  # a phone user's tap at 390
    assert page.locator("#raise-category").input_value() == str(BINS)  # the ticked report's
    sub_district.select(page, "#raise-lead", str(console_chain.member_ids["chengguan"]))
    sub_district.fill(page, "#raise-area", str(AREA))
    sub_district.click(page, "[data-testid=raise]")
    confirmed(page)

    page.goto(sub_district.url + "/console/cases")
    assert page.locator(f"[data-testid=reports-waiting] tr[data-report='{rid}']").count() == 0
    grouped = page.locator(f"[data-testid=grouped-by-{rid}]").inner_text()
    case_id = int(grouped.split("#")[1])
    sub_district.check(page)

    desk = CaseDesk(console_chain.ledger)
    assert desk.case(case_id).lead_id == console_chain.member_ids["chengguan"]
    shown = httpx.get(f"{sub_district.url}/open311/v2/requests/{rid}.json", timeout=60).json()[0]
    assert (shown["status"], shown["agency_responsible"]) == ("open", "城管")
    assert f"案件 {case_id}" in shown["status_notes"]
