"""Data governance's pages: second approvals waiting, freezes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.console import data_views
from api.console.auth import SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import StateDep
from api.portal.pages import lang_of
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

GOVERNANCE = register(Section("governance", "/governance", "console.nav.governance",
                              frozenset({Role.DATA_GOVERNANCE}), order=10))


@router.get(GOVERNANCE.path)
def governance_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, GOVERNANCE)
    return render(request, state, who, "console/governance.html", back=GOVERNANCE.href,
                  **data_views.governance(state, who.caller, lang_of(request)))
