"""GeoReport v2 on the wire: JSON or XML by the resource's suffix, W3C datetimes, and the
specification's error format for every refusal of its routes.

* ``/services.json`` answers ``application/json``, ``/services.xml`` answers ``text/xml``: the
  same records, the XML as the specification's elements (``<services><service>…``), UTF-8 with
  its declaration. ``None`` is ``null`` in JSON and an empty element in XML.
* Datetimes are ISO 8601 with the offset of the service's time zone (W3C note;
  ``COGOV_OPEN311_TIMEZONE``, Asia/Shanghai: ``2026-05-01T09:30:00+08:00``). Query datetimes
  are read the same way; one without an offset is in that zone.
* Errors: ``[{"code": 400, "description": "…"}]`` or ``<errors><error><code>400</code>
  <description>…</description></error></errors>``, in the format the resource asked for (JSON
  when it named none). :class:`Open311Route` renders every error its routes raise: the library's
  errors by the service's one table (:func:`api.problems.problem_of`), with GeoReport's statuses
  (an invalid request is 400, not 422; a missing or unknown ``api_key`` is 403, not 401), and
  ``Retry-After`` on 429 and 503.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.problems import problem_of
from ledger.errors import LedgerError, ValidationFailed

log = logging.getLogger("api.open311")

Format = Literal["json", "xml"]
FORMATS: tuple[Format, ...] = ("json", "xml")
MEDIA_TYPES: dict[Format, str] = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

#: GeoReport's status for each status the service's error table gives (the others are kept).
STATUS = {422: 400, 401: 403, 409: 400, 415: 400}

Record = Mapping[str, Any] | BaseModel


# ----------------------------------------------------------------------------- answers


def render(fmt: Format, root: str, item: str, records: Sequence[Record], status_code: int = 200) -> Response:
    """A list of records: a JSON array, or ``<root><item>…</item>…</root>``."""
    rows = [_plain(r) for r in records]
    if fmt == "json":
        return _response(fmt, _json(rows), status_code)
    top = ET.Element(root)
    for row in rows:
        _fill(ET.SubElement(top, item), row)
    return _response(fmt, _xml(top), status_code)


def render_one(fmt: Format, root: str, record: Record) -> Response:
    """One record: a JSON object, or ``<root>…</root>`` (a service definition)."""
    row = _plain(record)
    if fmt == "json":
        return _response(fmt, _json(row), 200)
    top = ET.Element(root)
    _fill(top, row)
    return _response(fmt, _xml(top), 200)


def errors(fmt: Format, status_code: int, descriptions: Sequence[str], headers: Mapping[str, str] | None = None
           ) -> Response:
    """The specification's error answer: one ``(code, description)`` per error, the code the HTTP status."""
    resp = render(fmt, "errors", "error", [{"code": status_code, "description": d} for d in descriptions], status_code)
    resp.headers.update(dict(headers or {}))
    return resp


def _plain(record: Record) -> dict[str, Any]:
    return record.model_dump() if isinstance(record, BaseModel) else dict(record)


def _json(value: object) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _fill(element: ET.Element, row: Mapping[str, Any]) -> None:
    for key, value in row.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):  # attributes, an attribute's values, discovery's endpoints and formats
            for entry in value:
                sub = ET.SubElement(child, key.removesuffix("s"))
                if isinstance(entry, Mapping):
                    _fill(sub, entry)
                else:
                    sub.text = str(entry)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def _xml(top: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode").encode("utf-8")


def _response(fmt: Format, body: bytes, status_code: int) -> Response:
    return Response(body, status_code=status_code, media_type=MEDIA_TYPES[fmt])


# ----------------------------------------------------------------------------- times


def w3c(unix: int, tz: tzinfo | None) -> str:
    """``unix`` as ISO 8601 with the zone's offset (``2026-05-01T09:30:00+08:00``; None: the machine's zone)."""
    return datetime.fromtimestamp(unix, tz).astimezone(tz).isoformat(timespec="seconds")


_DECODED_PLUS = re.compile(r"^(.*T.*\d) (\d{2}:?\d{2})$")  # a "+hh:mm" whose "+" a query string made a space


def parse_w3c(field: str, value: str, tz: ZoneInfo) -> int:
    """A W3C datetime (``2010-01-01T00:00:00Z``, ``…+08:00``, or a date) as Unix time; one
    without an offset is in ``tz``. :class:`ValidationFailed` when it is none."""
    text = _DECODED_PLUS.sub(r"\1+\2", value.strip())
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, f"{value!r:.60} is not a W3C datetime such as 2010-01-01T00:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    try:
        return int(when.timestamp())
    except (OverflowError, ValueError, OSError):
        raise ValidationFailed(field, f"{value!r:.60} is out of range") from None


# ----------------------------------------------------------------------------- errors


def format_of(request: Request) -> Format:
    """The format the resource asked for (its suffix); JSON when it named none or an unknown one."""
    fmt = request.path_params.get("fmt")
    return "xml" if fmt == "xml" else "json"


def error_response(request: Request, exc: Exception) -> Response:
    """Any error raised on an Open311 route, in the specification's format."""
    fmt = format_of(request)
    if isinstance(exc, LedgerError):
        status, body = problem_of(exc)
        status = STATUS.get(status, status)
        headers = {"Retry-After": str(body["retry_after"])} if "retry_after" in body and status in (429, 503) else {}
        if status >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.url.path, status, exc.message)
        return errors(fmt, status, [str(body["detail"])], headers)
    if isinstance(exc, RequestValidationError):
        return errors(fmt, 400, [_issue(e) for e in exc.errors()] or ["the request is invalid"])
    if isinstance(exc, HTTPException):
        return errors(fmt, STATUS.get(exc.status_code, exc.status_code), [str(exc.detail)], exc.headers)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return errors(fmt, 500, ["an unexpected error occurred; it has been logged"])


def _issue(e: Mapping[str, Any]) -> str:
    """``field: message`` of one validation error (the field is the last name in its location)."""
    names = [str(p) for p in e.get("loc", ()) if isinstance(p, str) and p not in ("body", "query", "path", "header")]
    msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{names[-1]}: {msg}" if names else msg


class Open311Route(APIRoute):
    """A route whose every error — invalid parameters, the library's errors, a rate limit, an
    unexpected failure — is answered in GeoReport's error format (:func:`error_response`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return error_response(request, exc)

        return route


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Format",
    "Open311Route",
    "error_response",
    "errors",
    "parse_w3c",
    "render",
    "render_one",
    "w3c",
]
