"""The council's page (``/console/council``): proposals waiting, what each changes in words, its
approvals so far (M of N), approve / execute / cancel, and the history. Each action is the API's
own council write (``api/services/membership.py``) through :func:`api.console.actions.act`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.console.actions import BackField, IdemField, act
from api.console.auth import Acting, SignedIn, SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import Id, StateDep, WriteRequest
from api.idempotency import Answer
from api.services import membership as svc
from api.services.index import caller_member
from api.state import ServiceState
from ledger.membership import Registry, Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

COUNCIL = register(Section("council", "/council", "console.nav.council", frozenset({Role.COUNCIL}), order=10))
#: Proposals the page shows (newest first); older ones are in the API's list.
SHOWN = 100
OPEN = ("pending", "approved")

Action = Annotated[Literal["approve", "execute", "cancel"], Path()]


def change_words(t: Callable[..., str], kind: str, args: dict[str, Any]) -> str:
    """What a proposal changes, in words (``t``: the page's translator)."""
    values = {k: ", ".join(t(f"console.role.{r}") for r in v) if k == "roles" else
              t(f"console.role.{v}") if k == "role" else v for k, v in args.items()}
    try:
        return t(f"console.council.change.{kind}", **values)
    except (KeyError, IndexError):  # a change whose arguments did not decode
        return f"{kind} {args}"


def council_view(state: ServiceState, who: SignedIn) -> dict[str, Any]:
    """The proposals (from the index, as the API lists them), the registry's threshold and the member."""
    proposals = svc.list_proposals(state, None, 0, SHOWN).data
    registry = Registry(state.ledger)
    return {
        "names": {m.id: m.name for m in registry.members()},
        "me": caller_member(state, who.caller).id,
        "waiting": [p for p in proposals if p.state in OPEN],
        "history": [p for p in proposals if p.state not in OPEN],
        "threshold": registry.threshold(),
        "change_words": change_words,
    }


@router.get(COUNCIL.path)
def council_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, COUNCIL)
    return render(request, state, who, "console/council.html", back=COUNCIL.href, **council_view(state, who))


@router.post(COUNCIL.path + "/proposals/{proposal_id}/{action}")
def council_act(request: Request, state: StateDep, who: Acting, proposal_id: Id, action: Action,
                idem: IdemField = None, back: BackField = None) -> Response:
    """Approve, execute or cancel a proposal as the signed-in council member."""
    require(who, COUNCIL)

    def write(_: WriteRequest) -> Answer:
        return Answer(200, svc.act(state, who.caller, action, proposal_id).model_dump(mode="json"))

    return act(request, state, who, write, idem, back or COUNCIL.href)
