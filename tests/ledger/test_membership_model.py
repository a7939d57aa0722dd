"""The membership reducer (ledger/membership/model.py) against the registry's own views on a real
chain: every member and every proposal, after admissions, role changes and an open proposal."""

from __future__ import annotations

from ledger.events import read_events
from ledger.membership import NAME, ChangeKind, MembershipState, Registry, Role
from ledger.testing import MEMBER_IDS, Deployment


def _state(deployment: Deployment) -> tuple[MembershipState, int]:
    led = deployment.ledger()
    assert led.manifest is not None
    head = led.block_number()
    events = read_events(led, {NAME: led.manifest.address(NAME)}, led.manifest.contracts[NAME].block_number, head)
    return MembershipState(events), int(led.w3.eth.get_block(head)["timestamp"])


def test_reducer_members_and_proposals_equal_the_registry_views(deployment: Deployment) -> None:
    reg = Registry(deployment.ledger())
    council = deployment.council
    reg.enact(council, ChangeKind.GRANT_ROLE, MEMBER_IDS["auditor"], int(Role.CONTRIBUTOR))
    reg.enact(council, ChangeKind.REVOKE_ROLE, MEMBER_IDS["auditor"], int(Role.CONTRIBUTOR))
    reg.propose(council[0], ChangeKind.SET_PROPOSAL_LIFETIME, 7 * 24 * 3600)  # left open
    state, now = _state(deployment)
    assert len(state.members) == len(reg.members()) and state.threshold == reg.threshold()
    for m in state.members.values():
        assert state.member_view(m) == reg.member(m.id)
    for p in state.proposals.values():
        assert state.proposal_view(p, now) == reg.proposal(p.id)
    assert state.council_size() == reg.council_size()
