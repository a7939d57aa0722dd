"""A department's data-sharing pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.console.auth import SignedInDep
from api.console.pages import PREFIX, Section, register, render, require
from api.deps import StateDep
from ledger.membership import Role

router = APIRouter(prefix=PREFIX, include_in_schema=False)

DATA = register(Section("data", "/data", "console.nav.data", frozenset({Role.DEPARTMENT}), order=10))


@router.get(DATA.path)
def data_home(request: Request, state: StateDep, who: SignedInDep) -> Response:
    require(who, DATA)
    return render(request, state, who, "console/data.html")
