"""The portal's page machinery: templates, formatting, rendering in the request's language, and
each page kept per index version (see :func:`cached`).

So that anyone cannot make the public pages work hard:

* every page is kept per index version (:func:`cached`: the index's last block and its
  hash are part of the key, so the first visitor after the index moves gets the new page,
  never the previous one), in a cache of bounded size (``COGOV_PAGE_CACHE_SIZE``);
* a page's key is made of known, validated parameters only (the language, a filter from
  its fixed list, the id of a record the index holds), never of the raw query string:
  an unknown parameter neither makes an entry nor evicts one, and a page for a record
  that does not exist (or a trace search that finds nothing) is not kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from api.answers import Kept, file_answer
from api.portal import i18n, views
from api.services.index import AnswerCache, cache_of
from api.state import ServiceState
from ledger.errors import LedgerError
from ledger.fund.docs import PUBLIC_KINDS
from ledger.index import Indexer

_API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = _API_DIR / "templates"
STATIC_DIR = _API_DIR / "static"
_CST = dt.timezone(dt.timedelta(hours=8))

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

# ----------------------------------------------------------------------------- formatting


def money(units: int, decimals: int = views.DECIMALS) -> str:
    """Token units (分) as ``¥1,234.56``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(int(units)), 10**decimals)
    return f"{sign}¥{whole:,}.{frac:0{decimals}d}" if decimals else f"{sign}¥{whole:,}"


def when(ts: int | None) -> str:
    if not ts:
        return "—"
    return dt.datetime.fromtimestamp(ts, tz=_CST).strftime("%Y-%m-%d %H:%M:%S")


def iso(ts: int | None) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, tz=_CST).isoformat()


def short(value: str | None, n: int = 10) -> str:
    if not value:
        return "—"
    return value if len(value) <= n + 6 else f"{value[:n]}…{value[-4:]}"


templates.env.globals.update(money=money, when=when, iso=iso, short=short)

# ----------------------------------------------------------------------------- pages of a list


class Pager:
    """One page of a long list on a portal page: ``per`` items a page, page 1 first; a page past
    the last is the last (so that only pages that exist name a cache entry). ``params``: the
    page's other validated parameters, kept in the links to its neighbours."""

    def __init__(self, path: str, params: Mapping[str, str], count: int, per: int, wanted: int | None) -> None:
        self.path, self.count, self.per = path, count, per
        self.pages = max(1, -(-count // per))
        self.page = min(wanted or 1, self.pages)
        self.params = {**params, **({"page": str(self.page)} if self.page > 1 else {})}
        self._others = dict(params)

    def url(self, page: int) -> str:
        query = urlencode({**self._others, **({"page": page} if page > 1 else {})})
        return self.path + ("?" + query if query else "")

    @property
    def prev(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None

    def of(self, items: Sequence[Any]) -> list[Any]:
        """This page's items of ``items`` (in the order shown)."""
        return list(items[(self.page - 1) * self.per : self.page * self.per])


# ----------------------------------------------------------------------------- rendering


def lang_of(request: Request) -> str:
    return i18n.pick(request.query_params.get("lang"), request.cookies.get("lang"))


def render(request: Request, state: ServiceState, template: str, status_code: int = 200,
            params: Mapping[str, str] | None = None, path: str | None = None, **context: Any) -> Response:
    """``template`` in the request's language. ``params`` and ``path``: the page's validated query
    parameters and canonical path (the language switch keeps them; nothing else of the request's
    URL reaches the page)."""
    lang = lang_of(request)

    def t(key: str, **values: object) -> str:
        return i18n.translate(lang, key, **values)

    other = "en" if lang == "zh-CN" else "zh-CN"
    path = path or request.url.path
    switch_url = path + "?" + urlencode({**(params or {}), "lang": other})
    last_block: int | None = None
    index = getattr(state, "index", None)
    if index is not None:
        try:
            last_block = index.last_block()
        except LedgerError:
            last_block = None
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": t, "lang": lang,
            "switch_url": switch_url, "switch_lang": other, "path": path,
            "indexed_block": last_block, **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    response.headers["Content-Language"] = lang
    return response


class NotKept(Exception):
    """A page answered but not kept: an error page, a record that does not exist, a search that
    found nothing (keys an anonymous caller could make up by the million)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class Page:
    """What one page shows: its context (``build()`` → ``None`` for a 404), the template, and
    the validated parameters that (with the language) name it in the cache. ``spellings``: other
    spellings of those parameters that name it too at the front door, one each (an account
    search's EIP-55 form, as wallets show an account), so they neither multiply without bound."""

    def __init__(self, name: str, template: str, build: Callable[[], dict[str, Any] | None],
                 params: Mapping[str, str] | None = None, keep: Callable[[dict[str, Any]], bool] | None = None,
                 extra_key: Hashable = None, path: str | None = None,
                 spellings: Sequence[Mapping[str, str]] = ()) -> None:
        self.name, self.template, self.build = name, template, build
        self.params = dict(params or {})
        self.spellings = [dict(s) for s in spellings]
        self.keep = keep
        self.extra_key = extra_key
        self.path = path

    def render(self, request: Request, state: ServiceState) -> Response:
        """The page rendered now; a lost index or chain is a 503 page, not a stack trace."""
        try:
            context = self.build()
        except LedgerError:
            return render(request, state, "portal/error.html", status_code=503, message_key="index_unavailable")
        if context is None:
            raise NotKept(not_found(request, state))
        response = render(request, state, self.template, params=self.params, path=self.path, **context)
        if self.keep is not None and not self.keep(context):
            raise NotKept(response)
        return response


def page_cache(state: ServiceState, index: Indexer) -> AnswerCache:
    """The rendered pages of one index (``COGOV_PAGE_CACHE_SIZE`` of them, least recently used out)."""
    size = int(getattr(state.settings, "page_cache_size", 256))
    return cache_of(index, "pages", size)


def cached(request: Request, state: ServiceState, page: Page) -> Response:
    """``page``, kept per index version (last indexed block and its hash) under its name, its
    validated parameters and the language, with an ETag (``If-None-Match`` answers 304). A
    new version is rendered for its first visitor (who waits; concurrent visitors share one
    rendering): a page never shows the index as it was before a change. Pages that are not
    kept (:class:`NotKept`) are rendered for each request."""
    index = state.index
    try:
        version = index.version() if index is not None else None
    except LedgerError:
        version = None
    if index is None or version is None:
        try:
            return page.render(request, state)
        except NotKept as exc:
            return exc.response
    lang = lang_of(request)
    key = ("page", page.name, tuple(sorted(page.params.items())), page.extra_key, lang)

    def render() -> tuple[bytes, str]:
        response = page.render(request, state)
        if response.status_code != 200:
            raise NotKept(response)
        etag = 'W/"' + hashlib.sha256(repr((version, key)).encode()).hexdigest()[:32] + '"'
        return bytes(response.body), etag

    try:
        body, etag = page_cache(state, index).get(version, key, render)
    except NotKept as exc:
        return exc.response
    headers = Response(headers={"Content-Language": lang})
    if request.query_params.get("lang") in i18n.LANGS:
        headers.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    kept = Kept(body, etag, "text/html; charset=utf-8",
                tuple((k, v) for k, v in headers.raw_headers if k != b"content-length"))
    if any(_canonical(request, params) for params in (page.params, *page.spellings)):
        file_answer(request, index, version, kept)
    return kept.response(request)


def _canonical(request: Request, params: Mapping[str, str]) -> bool:
    """Whether the request names its page in one way only (its validated parameters, the language
    or none, and a ``lang`` cookie that names a language or is absent): only those are filed for
    the front door, so made-up parameters or cookies neither make an entry there nor evict one."""
    given = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    query = dict(given)
    lang = query.pop("lang", None)
    return (len(given) == len(query) + (lang is not None) and query == dict(params)
            and lang in (None, *i18n.LANGS) and request.cookies.get("lang") in (None, *i18n.LANGS))


def not_found(request: Request, state: ServiceState) -> Response:
    return render(request, state, "portal/error.html", status_code=404, message_key="not_found.lead")


def bad_request(request: Request, state: ServiceState) -> Response:
    """A page asked with a parameter it cannot take (a page number of ``abc`` or ``0``): 422, as a page."""
    return render(request, state, "portal/error.html", status_code=422, message_key="bad_request.lead",
                  title_key="bad_request")


def public_texts(state: ServiceState, kinds: Collection[str] = PUBLIC_KINDS) -> views.Texts:
    """Public texts (project titles, milestone descriptions, public case descriptions) by on-chain
    hash, from the service database: only texts of ``kinds`` that hash to the chain's hash."""
    docs = getattr(state, "docs", None)

    def lookup(hashes: Collection[str]) -> dict[str, str]:
        return docs.texts(hashes, kinds) if docs is not None else {}

    return lookup
