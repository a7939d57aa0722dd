"""The council's console page in Chromium: a proposal made on chain waits with its change in words
and "1 of 2" approvals; a second council member approves it and executes it from the page, each
transaction followed live to confirmed, and it moves to the history; at 1280 and 390 px, no console
errors, no serious axe-core violations."""

from __future__ import annotations

import pytest

from ledger.membership import ChangeKind, ProposalState, Registry, Role
from tests.e2e.conftest import WIDTHS, Console, DemoChain, confirmed, shot


@pytest.fixture
def council(console: Console, console_chain: DemoChain) -> Console:
    """The console with council keys for the demo's council members (the console_keys of 街道办 and
    民政局 are their department's)."""
    from api.apikeys import ApiKeyStore, engine_for

    store = ApiKeyStore(engine_for(console_chain.settings.service_db_url))
    for label in ("jiedaoban", "minzhengju"):
        name = f"console:council:{label}"
        if f"council:{label}" not in console.keys:
            console.keys[f"council:{label}"] = store.create(name, "council", console_chain.signers[label].address,
                                                            label)[0]
    return console


@pytest.mark.parametrize("width", WIDTHS)
def test_a_proposal_approved_to_execution(council: Console, console_chain: DemoChain, width: int) -> None:
    reg = Registry(console_chain.ledger)
    member = console_chain.member_ids["resident-2" if width == 1280 else "resident-3"]  # a change of its own each
    pid, _ = reg.propose(console_chain.signers["jiedaoban"], ChangeKind.GRANT_ROLE, member, int(Role.AUDITOR))

    page = council.page("council:minzhengju", width)
    assert page.url.endswith("/console/council")  # the council's home
    row = page.locator(f"[data-testid=waiting] tr[data-proposal='{pid}']")
    assert f"#{member}" in row.inner_text()  # what it changes, in words
    assert page.locator(f"[data-testid=approvals-{pid}]").inner_text().startswith("1 / 2")
    council.check(page)
    shot(page, "console-council", at_phone=True)  # at 390, what a phone shows first: the proposals waiting
    council.click(page, f"[data-testid=approve-{pid}]")
    confirmed(page)
    council.check(page)
    assert reg.proposal(pid).state == ProposalState.APPROVED

    page.goto(council.url + "/console/council")
    council.click(page, f"[data-testid=execute-{pid}]")
    confirmed(page)
    assert reg.proposal(pid).state == ProposalState.EXECUTED
    page.goto(council.url + "/console/council")
    assert page.locator(f"[data-testid=history] tr[data-proposal='{pid}']").count() == 1
    council.check(page)


def test_the_council_page_is_the_councils(council: Console) -> None:
    page = council.page("weijianwei")  # a department's key
    page.goto(council.url + "/console/council")
    assert page.locator("[data-testid=waiting]").count() == 0
