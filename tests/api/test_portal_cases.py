"""The cases pages (/cases, /cases/{id}) over a real chain and index: a history with cases in every
state (tests/ledger/case_history.py) on a fresh CaseDesk of the session chain, one of them overdue.

Every figure on the page equals :func:`ledger.cases.tallies` / :func:`ledger.cases.overall` over
the chain's own events (read from the chain, not the index) at the indexed head's time; a rate
without a denominator reads "—"; every figure links to a transaction of the desk; pages are kept
per index version.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from api.portal.views.cases import RATES, fraction
from ledger.cases import NAME, CaseModel, Tally, overall, tallies
from ledger.cases.model import MODEL_EVENTS
from ledger.events import deployment_events
from ledger.fund.docs import documents
from ledger.logs import header
from ledger.testing import MEMBER_IDS, STANDARD_MEMBERS, Deployment
from tests.api.conftest import make_settings
from tests.conftest import database_urls
from tests.ledger.case_history import PUBLIC_TEXT, CaseHistory, build_case_history

pytestmark = pytest.mark.ganache

A, B = MEMBER_IDS["dept_a"], MEMBER_IDS["dept_b"]


@dataclass
class Portal:
    deployment: Deployment
    history: CaseHistory
    client: TestClient

    def catch_up(self) -> None:
        self.client.app.state.service.catch_up()  # type: ignore[attr-defined]  # no follower thread here

    def chain(self) -> tuple[CaseModel, int, set[str]]:
        """The reducer over the desk's events read from the chain, the indexed head's time, and the
        desk's transactions."""
        led = self.history.led
        events = deployment_events(led, NAME, MODEL_EVENTS)
        index = self.client.app.state.service.index  # type: ignore[attr-defined]
        head = header(led, index.last_block())
        assert head is not None
        return CaseModel.of(events), head.time, {e.tx_hash for e in events}


@pytest.fixture(scope="module")
def portal(request: pytest.FixtureRequest, database: str, deployment: Deployment,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """A case desk with its history, and the portal over it, for each database."""
    directory = tmp_path_factory.mktemp("portal-cases")
    history = build_case_history(deployment, directory)
    settings = make_settings(deployment, directory, manifest_path=history.manifest, **database_urls(request, database))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        p = Portal(deployment, history, client)
        p.catch_up()
        yield p


def rate_cells(html: str, row: str) -> dict[str, tuple[float | None, int, int, str | None]]:
    """The rate cells of the row ``<tr {row}>``: rate -> (value, part, whole, linked transaction)."""
    m = re.search(rf"<tr {re.escape(row)}>(.*?)</tr>", html, re.S)
    assert m is not None, row
    out = {}
    for cell in re.finditer(r'<span class="rate" data-rate="(\w+)" data-value="([^"]*)" data-part="(\d+)" '
                            r'data-whole="(\d+)">(.*?)</span></span>', m.group(1), re.S):
        link = re.search(r'href="/tx/(0x[0-9a-f]{64})"', cell.group(5))
        value = float(cell.group(2)) if cell.group(2) else None
        out[cell.group(1)] = (value, int(cell.group(3)), int(cell.group(4)), link.group(1) if link else None)
    assert list(out) == list(RATES), row
    return out


def assert_row(html: str, row: str, t: Tally, txs: set[str], *, linked: bool = True) -> None:
    rates = t.rates()
    for rate, (value, part, whole, tx) in rate_cells(html, row).items():
        assert (part, whole) == fraction(t, rate), (row, rate)
        assert value == rates[rate], (row, rate)  # the published metric's own figure
        if whole == 0:
            assert value is None and tx is None, (row, rate)
        elif linked:
            assert tx in txs, (row, rate)  # a transaction of the desk's


def figure(html: str, name: str) -> int:
    m = re.search(rf'data-figure="{re.escape(name)}" data-value="(\d+)"', html)
    assert m is not None, name
    return int(m.group(1))


def test_the_page_s_figures_are_the_published_metrics_over_the_chain(portal: Portal) -> None:
    model, now, txs = portal.chain()
    r = portal.client.get("/cases")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    html = r.text
    states = Counter(c.state.name.lower() for c in model.cases.values())
    assert len(states) == 8  # every state, as the history means
    for state, n in states.items():
        assert figure(html, f"state.{state}") == n, state
    assert figure(html, "cases.all") == len(model.cases)
    for by in ("department", "category", "month"):
        groups = tallies(model, now, by)
        assert groups, by
        for key, t in groups.items():
            assert_row(html, f'data-{by}="{key}"', t, txs)
    assert_row(html, 'data-department="all"', overall(model, now), txs, linked=False)
    # what the history means, in the figures: 卫健委 has no satisfaction record, and no closing
    by_department = tallies(model, now, "department")
    assert by_department[A].satisfactions.records == 0 and by_department[A].closings.closed == 0
    cells = rate_cells(html, f'data-department="{A}"')
    assert cells["satisfaction"][:3] == (None, 0, 0) and cells["resolution"][:3] == (None, 0, 0)
    a_row = re.search(rf'<tr data-department="{A}">(.*?)</tr>', html, re.S)
    assert a_row is not None and a_row.group(1).count("<strong>—</strong>") == 2  # "—", not 0 %
    assert "按期报到的派单 ÷ 派单" in html and "已办结（已解决）÷ 已办结" in html  # the formulas, in words
    assert html.count("<svg") == 1  # the months' chart


def test_overdue_cases_are_highlighted_with_the_deadline_they_missed(portal: Portal) -> None:
    model, now, _ = portal.chain()
    html = portal.client.get("/cases").text
    overdue = {cid for cid, c in model.cases.items() if c.overdue(now)}
    assert portal.history.cases["overdue"] in overdue
    assert figure(html, "cases.overdue") == len(overdue)
    rows = dict(re.findall(r'<tr class="overdue" data-overdue-case="(\d+)">(.*?)</tr>', html, re.S))
    assert {int(k) for k in rows} == overdue
    cid = portal.history.cases["overdue"]
    c, row = model.cases[cid], rows[str(cid)]
    raised = c.events[0].tx_hash  # raised and dispatched in one transaction: it set the deadline
    assert f'href="/tx/{raised}"' in row and STANDARD_MEMBERS["dept_a"][0] in row
    late_by = re.search(r'data-late-by="(\d+)"', row)
    assert late_by is not None and int(late_by.group(1)) == now - c.ack_deadline > 0
    assert "报到期限" in row
    # in the list too, overdue rows stand out
    assert re.search(rf'<tr data-case="{cid}" class="overdue">', html)


def test_each_state_links_to_its_list(portal: Portal) -> None:
    model, _, _ = portal.chain()
    for state in ("closed_fixed", "escalated", "dispatched"):
        html = portal.client.get(f"/cases?state={state}").text
        listed = {int(x) for x in re.findall(r'<tr data-case="(\d+)"', html)}
        assert listed == {cid for cid, c in model.cases.items() if c.state.name.lower() == state}, state
        assert f'href="/cases?state={state}#list"' in html
    html = portal.client.get(f"/cases?department={A}").text
    listed = {int(x) for x in re.findall(r'<tr data-case="(\d+)"', html)}
    assert listed == {cid for cid, c in model.cases.items() if A in c.team}
    unknown = portal.client.get("/cases?state=bogus&department=999999").text  # unknown filters are no filter
    assert len(re.findall(r'<tr data-case="', unknown)) == len(model.cases)


def test_one_case_s_timeline_is_every_event_with_who_when_and_its_transaction(portal: Portal) -> None:
    model, _, _ = portal.chain()
    cid = portal.history.cases["late"]
    html = portal.client.get(f"/cases/{cid}").text
    rows = re.findall(r'<tr data-event="(\w+)"[^>]*>(.*?)</tr>', html, re.S)
    events = model.cases[cid].events
    assert [name for name, _ in rows] == [e.name for e in events]
    for (_, row), e in zip(rows, events, strict=True):
        assert f'href="/tx/{e.tx_hash}"' in row
    ack = next(row for name, row in rows if name == "CaseAcknowledged")
    assert 'data-late="true"' in ack and STANDARD_MEMBERS["dept_b"][0] in ack
    assert STANDARD_MEMBERS["subdistrict"][0] in html  # the raiser, by name
    fixed = portal.client.get(f"/cases/{portal.history.cases['fixed']}").text
    assert fixed.count('data-late="false"') == 4  # two acknowledgements and two answers, on time
    assert "满意" in fixed and "已解决，办结" in fixed
    assert portal.client.get("/cases/999999").status_code == 404


def test_a_public_description_is_shown_and_a_private_one_is_not(portal: Portal) -> None:
    """The description a sub-district marked public (kind ``case_public``, its text hashing to the
    chain's hash) is shown; another text stored under that kind for another case's hash is not."""
    state = portal.client.app.state.service  # type: ignore[attr-defined]
    public, other = portal.history.cases["sent_back"], portal.history.cases["escalated"]
    forged = "伪造的说明"
    model, _, _ = portal.chain()
    with state.docs.engine.begin() as conn:
        for text, h in ((PUBLIC_TEXT, model.cases[public].description_hash),
                        (forged, model.cases[other].description_hash)):
            conn.execute(sa.insert(documents).values(
                hash="0x" + h.hex(), kind="case_public", text=text, salt=None, state="stored", tx_hash=None,
                record=None, scope="test", size=len(text.encode()), created_at=time.time()))
    shown = portal.client.get(f"/cases/{public}").text
    assert f'data-testid="case-description">{PUBLIC_TEXT}<' in shown
    hidden = portal.client.get(f"/cases/{other}").text
    assert forged not in hidden and "街道未公开说明" in hidden


def test_the_english_switch(portal: Portal) -> None:
    html = portal.client.get("/cases?lang=en").text
    assert '<html lang="en">' in html and "Response rate" in html and "Overdue cases" in html
    assert "closed fixed ÷ closed" in html and 'href="/cases?lang=zh-CN"' in html
    portal.client.cookies.clear()


def test_pages_are_kept_until_the_desk_moves_on(portal: Portal) -> None:
    first = portal.client.get("/cases")
    again = portal.client.get("/cases")
    assert again.headers["etag"] == first.headers["etag"] and again.content == first.content
    cid = portal.history.cases["overdue"]
    portal.history.desk.escalate(portal.deployment.signers["outsider"], cid)  # anyone, on an overdue case
    portal.catch_up()
    fresh = portal.client.get("/cases")
    assert fresh.headers["etag"] != first.headers["etag"]
    assert figure(fresh.text, "state.escalated") == figure(first.text, "state.escalated") + 1
    assert f'data-overdue-case="{cid}"' not in fresh.text
    timeline = unescape(portal.client.get(f"/cases/{cid}").text)
    assert "超期上报" in timeline and "非成员" in timeline  # escalated by someone who is no member



def test_a_case_transaction_names_organisations_never_accounts(portal: Portal) -> None:
    model, _, _ = portal.chain()
    sent_back = next(e for e in model.cases[portal.history.cases["sent_back"]].events if e.name == "CaseSentBack")
    html = portal.client.get(f"/tx/{sent_back.tx_hash}").text
    assert "CaseDesk.CaseSentBack" in html and STANDARD_MEMBERS["enterprise"][0] in html  # responsibleId, by name
    assert STANDARD_MEMBERS["dept_a"][0] in html
    for label in ("dept_a", "subdistrict"):
        assert portal.deployment.signers[label].address[2:].lower() not in html.lower()
    raised = portal.client.get(f"/tx/{model.cases[portal.history.cases['fixed']].events[0].tx_hash}").text
    assert "CaseDesk.CaseDispatched" in raised and "assistingIds" in raised and STANDARD_MEMBERS["dept_a"][0] in raised
