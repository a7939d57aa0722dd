"""The console's page registry and rendering.

A page is a :class:`Section` registered once (``register(Section(...))``) by the module that serves
it: its path under ``/console``, its title's i18n key, the roles whose navigation lists it and its
place there. ``/console/`` sends a member to the first section of their role (:func:`home_for`).
Pages render with the portal's templates, formatting (``money``, ``when``) and languages
(:func:`api.portal.pages.render`), with the signed-in member, their navigation and the CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.console.auth import SignedIn
from api.portal.pages import render as portal_render
from api.services.index import caller_member
from api.state import ServiceState
from ledger.errors import AccessDenied, LedgerError
from ledger.membership import Role

PREFIX = "/console"


@dataclass(frozen=True)
class Section:
    """One page of the console: ``path`` under /console, ``title`` an i18n key, who sees it."""

    name: str
    path: str
    title: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    order: int = 100

    @property
    def href(self) -> str:
        return PREFIX + self.path


SECTIONS: dict[str, Section] = {}


def register(section: Section) -> Section:
    if section.name in SECTIONS and SECTIONS[section.name] != section:
        raise ValueError(f"console section {section.name!r} is registered already")
    SECTIONS[section.name] = section
    return section


def nav_for(role: Role) -> list[Section]:
    """The sections a role's navigation lists, in order."""
    return sorted((s for s in SECTIONS.values() if role in s.roles), key=lambda s: (s.order, s.name))


def home_for(role: Role) -> Section | None:
    nav = nav_for(role)
    return nav[0] if nav else None


def require(who: SignedIn, section: Section) -> None:
    """403 unless the member's role sees ``section`` (the chain refuses their writes anyway)."""
    if who.role not in section.roles:
        raise AccessDenied(f"this console page is for the {', '.join(sorted(r.name.lower() for r in section.roles))} "
                           f"role; this API key has {who.role.name.lower()}")


def member_name(state: ServiceState, who: SignedIn) -> str:
    try:
        return caller_member(state, who.caller).name
    except LedgerError:
        return who.caller.account


def render(request: Request, state: ServiceState, who: SignedIn | None, template: str, status_code: int = 200,
           **context: Any) -> Response:
    """A console page: ``template`` in the request's language, with the member, their navigation,
    the CSRF token and a fresh idempotency key for the page's forms. Never kept by a cache."""
    extra: dict[str, Any] = {"who": who, "nav": [], "csrf": "", "member": None}
    if who is not None:
        extra.update(nav=nav_for(who.role), csrf=who.session.csrf, member=member_name(state, who),
                     role=who.role.name.lower())
    response = portal_render(request, state, template, status_code, path=request.url.path,
                             idem=secrets.token_hex(16), **extra, **context)
    response.headers["Cache-Control"] = "no-store"
    return response
