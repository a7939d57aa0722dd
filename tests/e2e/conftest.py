"""End-to-end fixtures: the demo chain (private Ganache, seeded like `make demo`), the app served
over real HTTP, and headless Chromium driven by Playwright.

The demo chain is seeded by the demo (``cogov.demo``: its bootstrap and every capability's
part). A few gateway accesses and refusals are added so the portal's data-sharing statistics
have something to count.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ledger.chain import Ganache
from ledger.client import ContractCall, TxReceipt
from ledger.fund.docs import DocKind, open_store
from tests.conftest import TEST_PASSWORD, start_ganache

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
#: The console's screenshots: committed in docs/screenshots/ and rewritten there only when asked
#: (``COGOV_DOC_SHOTS=1 .venv/bin/python -m pytest tests/e2e``); a plain run saves them with the
#: other artifacts and leaves the work tree as it was.
DOC_SHOTS = REPO / "docs" / "screenshots" if os.environ.get("COGOV_DOC_SHOTS") == "1" else SCREENSHOTS / "docs"
CHROMIUM = os.environ.get("COGOV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@dataclass
class DemoChain:
    ganache: Ganache
    settings: Any  # ledger.config.Settings pointing at tmp dirs
    ledger: Any
    signers: dict[str, Any]
    member_ids: dict[str, int]
    facts: dict[str, Any] = field(default_factory=dict)  # what the fund scenario did (receipts, projects)


def _time_travel(ledger: Any, seconds: int) -> None:
    ledger.rpc("evm_increaseTime", [seconds])
    ledger.rpc("evm_mine", [])


def _facts_from_chain(led: Any) -> dict[str, Any]:
    """What the fund history on chain implies, read straight from the chain's logs (not the index).

    ``funded``: receipt id → the projects its money paid for, by ledger.fund.trace's rule;
    ``receipts``/``projects``: a receipt that funded the most projects, the project with the most payouts.
    """
    from ledger.fund.report import events_from_chain
    from ledger.fund.trace import trace_fund

    trace = trace_fund(events_from_chain(led))
    funded = {rid: set(c.projects_funded) for rid, c in trace.contributions.items()}
    payouts: dict[int, int] = {}
    for p in trace.payouts.values():
        payouts[p.project_id] = payouts.get(p.project_id, 0) + 1
    best_receipt = max(funded, key=lambda rid: (len(funded[rid]), -rid))
    best_project = max(payouts, key=lambda pid: (payouts[pid], -pid))
    return {"funded": funded, "receipts": {"traced": best_receipt}, "projects": {"paid": best_project},
            "total_contributed": trace.total_contributed, "balance": trace.balance}


def _seed_data_activity(ctx: Any) -> None:
    """Gateway traffic for the statistics: two served accesses and two refused attempts recorded on chain
    one by one (every classification served synchronously), then one access in log mode: anchored when
    its gateway closes."""
    from cogov.demo.data import BINS, ELDERLY
    from ledger.config import CLASSIFICATIONS
    from ledger.data import DataSharing, GrantState
    from ledger.errors import AccessDenied
    from ledger.gateway import Gateway, GatewayStore, load_master_key

    s = ctx.settings
    store = GatewayStore(s.gateway_store_dir, load_master_key(s.gateway_master_key_file, create=True))
    owners = {ctx.member_ids[label]: ctx.signers[label] for label in ("minzhengju", "chengguan", "weijianwei")}
    gw = Gateway(ctx.ledger, store, lambda m: owners[m.id], sync_classifications=CLASSIFICATIONS)
    ds = DataSharing(ctx.ledger)
    titles = {ds.dataset(i).title: i for i in range(1, ds.dataset_count() + 1)}
    jdb = ctx.signers["jiedaoban"].address
    grants = [ds.grant(i) for i in range(1, ds.grant_count() + 1)]
    bins = titles[BINS]
    active = next(g for g in grants if g.dataset_id == bins and g.state == GrantState.ACTIVE)
    expired = next(g for g in grants if g.dataset_id == bins and g.state == GrantState.EXPIRED)
    fields = ["bin_id", "fill_pct"]
    for _ in range(2):
        gw.serve(bins, jdb, fields, active.id)
    for dataset, account, grant in ((bins, jdb, expired.id), (titles[ELDERLY], ctx.signers["chengguan"].address, 1)):
        with contextlib.suppress(AccessDenied):
            gw.serve(dataset, account, None, grant)
    gw.close()  # the refusals are recorded off the request path: send them before the portal counts
    logged = Gateway(ctx.ledger, store, lambda m: owners[m.id])  # bins: internal, in the log
    logged.serve(bins, jdb, fields, active.id)
    logged.close()  # anchors what is pending


def written(chain: DemoChain, label: str, call: Callable[..., ContractCall], *texts: tuple[DocKind, str]) -> TxReceipt:
    """``call`` (a ContractCall made from the texts' hashes) signed by ``label``, its texts kept in the
    service's document store (as the demo does); the receipt."""
    docs = open_store(chain.settings)
    drafts = [docs.draft(kind, text) for kind, text in texts]
    r = docs.transact(chain.ledger, chain.signers[label], call(*(d.hash for d in drafts)), drafts)
    docs.accept(r)
    return r


def proposed_project(chain: DemoChain, title: str, milestone: str = "灯具采购与安装") -> int:
    """A one-milestone project (1.00 元, to 城管) proposed by 社工代表 (committee-3): its approval
    motion open, with no vote yet."""
    from ledger.fund import Fund

    fund = Fund(chain.ledger)
    r = written(chain, "committee-3",
                lambda t, ms: fund.propose_project_call(t, chain.signers["chengguan"].address, [(100, ms)]),
                ("title", title), ("milestone", milestone))
    return int(r.event("ProjectProposed").args["projectId"])


@contextlib.contextmanager
def seeded_demo(root: Path, password: str = TEST_PASSWORD, **settings_: Any) -> Iterator[DemoChain]:
    """A private Ganache under ``root`` seeded with the demo scenario and its API keys, like
    scripts/seed_demo.py does (its keystores under ``password``; ``settings_``: more service settings)."""
    from api.settings import Settings
    from cogov.demo import bootstrap, issue_api_keys, seed_capabilities

    g = start_ganache(root / "ganache")
    try:
        settings = Settings(
            env="test",
            rpc_urls=[g.config.url],
            manifest_path=root / "state" / "deployment.json",
            index_db_url=f"sqlite:///{root / 'index.db'}",
            service_db_url=f"sqlite:///{root / 'service.db'}",
            keystore_dir=root / "keys",
            gateway_master_key_file=root / "gateway-master.key",
            gateway_store_dir=root / "gateway",
            index_follow=False,
            rate_limit_per_minute=0,
            anonymous_rate_limit_per_minute=0,  # one browser, many pages: the portal's limit is tested elsewhere
            audit_report_path=root / "state" / "audit-report.json",
            **settings_,
        )
        ctx = bootstrap(settings, password)
        seed_capabilities(ctx)
        issue_api_keys(ctx)
        led, signers = ctx.ledger, ctx.signers
        _time_travel(led, 2)  # the 1-second grant of the data demo is expired by now
        _seed_data_activity(ctx)
        yield DemoChain(g, settings, led, signers, dict(ctx.member_ids), _facts_from_chain(led))
    finally:
        g.stop(timeout=10)


@pytest.fixture(scope="session")
def demo_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoChain]:
    """The demo chain the portal's tests read (nothing writes to it: they count what the demo made)."""
    with seeded_demo(tmp_path_factory.mktemp("portal-demo")) as chain:
        yield chain


@pytest.fixture(scope="session")
def portal_url(demo_chain: DemoChain) -> Iterator[str]:
    """The app (API + portal) over real HTTP, its index caught up with the demo chain."""
    from tests.api.conftest import LiveServer

    with LiveServer(demo_chain.settings) as server:
        yield server.url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (Playwright's own browser download is not used)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install -y chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# ----------------------------------------------------------------------------- the member console

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
PHONE = 480  #: at this width or less a page is a phone's: console.css stacks each table row as a card
TAP = 24  #: a control's least height and width at phone width, in CSS px (WCAG 2.2's target size)


def no_overflow(page: Any) -> bool:
    """Nothing wider than the screen: the page itself never scrolls sideways (a table may, in its wrapper)."""
    return bool(page.locator("html").evaluate("el => el.scrollWidth <= window.innerWidth + 1"))


#: At phone width, each page loaded says so on the browser's console when it scrolls sideways.
OVERFLOW_REPORTED = """addEventListener("load", () => {
  const html = document.documentElement;
  if (html.scrollWidth > innerWidth + 1) console.error(`${location.pathname} scrolls sideways: ${html.scrollWidth} px`);
});"""


def phone(page: Any) -> bool:
    return int(page.viewport_size["width"]) <= PHONE


def shot(page: Any, name: str, desktop: bool = True, at_phone: bool = False) -> None:
    """docs/screenshots/``name``.png: the whole page, at desktop width; ``name``-phone.png: what a
    phone shows first, at phone width. Either only when asked (in ``DOC_SHOTS``)."""
    DOC_SHOTS.mkdir(parents=True, exist_ok=True)
    if not phone(page) and desktop:
        page.screenshot(path=str(DOC_SHOTS / f"{name}.png"), full_page=True)
    elif phone(page) and at_phone:
        page.screenshot(path=str(DOC_SHOTS / f"{name}-phone.png"))


def confirmed(page: Any) -> None:
    """On an action's transaction page: followed live until confirmed (and, at phone width, fitting)."""
    page.wait_for_url("**/console/tx/**")
    page.wait_for_selector("[data-testid=tx-state][data-state=confirmed]", timeout=30_000)
    assert not phone(page) or no_overflow(page), f"{page.url}: the page scrolls sideways"


@pytest.fixture(scope="session")
def console_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoChain, str]]:
    """A demo chain of the console's own, served over real HTTP: its tests write (requests,
    approvals, accesses), which the portal's tests, counting what the demo made, must not see."""
    from tests.api.conftest import LiveServer

    # every request asks the registry whether the key's account is still a member's
    root = tmp_path_factory.mktemp("console-demo")
    with seeded_demo(root, account_check_seconds=0) as chain, LiveServer(chain.settings) as server:
        yield chain, server.url


@pytest.fixture(scope="session")
def console_chain(console_demo: tuple[DemoChain, str]) -> DemoChain:
    return console_demo[0]


@pytest.fixture(scope="session")
def console_keys(console_chain: DemoChain) -> dict[str, str]:
    """API keys of the demo's members for the console, by label: the demo's roles
    (cogov.demo.scenario.API_KEYS), and department keys for 街道办 and 民政局 (their data-sharing side)."""
    from api.apikeys import ApiKeyStore, engine_for
    from cogov.demo.scenario import API_KEYS

    store = ApiKeyStore(engine_for(console_chain.settings.service_db_url))
    roles = {**API_KEYS, "jiedaoban": "department", "minzhengju": "department"}
    return {label: store.create(f"console:{label}", role, console_chain.signers[label].address, label)[0]
            for label, role in roles.items()}


class Console:
    """The console in Chromium: a member signed in at a width, their page's console errors collected
    (:meth:`check` fails on any, and on axe-core's serious or critical violations).

    A member signs in once per width on a worker: its browser context (the session cookie) is kept in
    ``signed_in`` and each later :meth:`page` of that member opens at the console's home in it."""

    def __init__(self, browser: Any, url: str, keys: dict[str, str], signed_in: dict[tuple[str, int], Any]) -> None:
        self.browser, self.url, self.keys, self.signed_in = browser, url, keys, signed_in
        self._contexts: list[Any] = []
        self._pages: list[Any] = []

    def _context(self, width: int) -> Any:
        context = self.browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        if width <= PHONE:  # every page this member loads: one that scrolls sideways is an error :meth:`check` reports
            context.add_init_script(OVERFLOW_REPORTED)
        return context

    def _page(self, context: Any, path: str) -> Any:
        page = context.new_page()
        self._pages.append(page)
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(self.url + path)
        return page

    def page(self, label: str | None, width: int = 1280) -> Any:
        """A new page of ``label`` (None: nobody signed in) at its home, ``width`` px wide."""
        if label is None:
            context = self._context(width)
            self._contexts.append(context)
            return self._page(context, "/console/sign-in")
        context = self.signed_in.get((label, width))
        if context is not None:
            return self._page(context, "/console/")
        context = self.signed_in[(label, width)] = self._context(width)
        page = self._page(context, "/console/sign-in")
        page.fill("#api_key", self.keys[label])
        page.click("[data-testid=sign-in]")
        page.wait_for_load_state()
        return page

    def reach(self, page: Any, selector: str) -> Any:
        """The control a user acts on, as a Locator. At phone width, a phone user's: visible, on the
        screen without scrolling anything sideways (neither the page nor a table's wrapper), and at
        least TAP px both ways; the page it is on does not overflow."""
        control = page.locator(selector)
        control.wait_for(state="visible")
        if phone(page):
            assert no_overflow(page), f"{page.url}: the page scrolls sideways"
            box = control.evaluate("el => { const r = el.getBoundingClientRect(); let x = 0;"
                                   " for (let p = el.parentElement; p; p = p.parentElement) x += p.scrollLeft;"
                                   " return [r.left + x, r.right + x, r.width, r.height, innerWidth]; }")
            left, right, w, h, screen = box
            assert left >= 0 and right <= screen + 1, f"{selector} is off the screen at {page.url}: {box}"
            assert min(w, h) >= TAP, f"{selector} is too small to tap: {w:.0f} x {h:.0f}"
        return control

    def click(self, page: Any, selector: str) -> None:
        self.reach(page, selector).click()

    def fill(self, page: Any, selector: str, value: str) -> None:
        self.reach(page, selector).fill(value)

    def select(self, page: Any, selector: str, value: str) -> None:
        self.reach(page, selector).select_option(value)

    def upload(self, page: Any, selector: str, path: Any) -> None:
        self.reach(page, selector).set_input_files(str(path))

    def check(self, page: Any) -> None:
        """No console errors; no serious or critical axe-core violation; at phone width, no overflow."""
        assert not phone(page) or no_overflow(page), f"{page.url}: the page scrolls sideways"
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run(document)).violations"
                              ".filter(v => ['serious', 'critical'].includes(v.impact))"
                              ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
        assert found == [], found
        assert page.errors == [], page.errors

    def close(self) -> None:
        for page in self._pages:
            page.close()
        for c in self._contexts:
            c.close()


@pytest.fixture(scope="session")
def console_signed_in(chromium: Any) -> Iterator[dict[tuple[str, int], Any]]:
    """The console's members signed in, by (label, width): their browser contexts, for this worker."""
    contexts: dict[tuple[str, int], Any] = {}
    yield contexts
    for c in contexts.values():
        c.close()


@pytest.fixture
def console(chromium: Any, console_demo: tuple[DemoChain, str], console_keys: dict[str, str],
            console_signed_in: dict[tuple[str, int], Any]) -> Iterator[Console]:
    c = Console(chromium, console_demo[1], console_keys, console_signed_in)
    try:
        yield c
    finally:
        c.close()
