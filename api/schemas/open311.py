"""Open311 GeoReport v2: the report form (``POST /open311/v2/requests``) and the answers.

Field names are the specification's (``long``, ``address_string``, ``service_request_id`` …).
An optional argument sent empty is the same as one not sent (GeoReport v2, "Optional
Arguments"). Every text is bounded (the columns of :mod:`api.open311.store`) and holds only
characters XML 1.0 can carry: no NUL, no other control character but tab and line breaks.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from api.open311.store import LIMITS

#: Characters XML 1.0 cannot carry (and PostgreSQL's NUL): refused in every text.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$")


def _blank_is_none(v: object) -> object:
    return None if isinstance(v, str) and not v.strip() else v


def _text(limit: int, description: str, **kw: Any) -> Any:  # pydantic's Field() is typed Any
    return Field(None, max_length=limit, description=description, **kw)


BlankIsNone = BeforeValidator(_blank_is_none)
Text = Annotated[str | None, BlankIsNone]
Coordinate = Annotated[float | None, BlankIsNone]


class ReportCreate(BaseModel):
    """A resident's report (a service request), form-encoded as GeoReport v2 says."""

    model_config = ConfigDict(extra="ignore")  # attribute[...] (no service here defines any), address_id …

    api_key: Text = _text(200, "An API key of this service (its client's key); without one the report is "
                               "accepted when the service takes anonymous reports, rate-limited per address.")
    jurisdiction_id: Text = _text(200, "Only checked when the service names its jurisdiction.")
    service_code: int = Field(ge=1, le=65535, description="A category from GET /open311/v2/services.")
    lat: Coordinate = Field(None, ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude (with long).")
    long: Coordinate = Field(None, ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude (with lat).")
    address_string: Text = _text(LIMITS["address"], "Where, from most to least specific (or lat/long).")
    email: Text = _text(LIMITS["email"], "The reporter's e-mail: kept off chain, never shown.")
    device_id: Text = _text(LIMITS["device_id"], "Kept off chain, never shown.")
    account_id: Text = _text(LIMITS["account_id"], "Kept off chain, never shown.")
    first_name: Text = _text(LIMITS["first_name"], "Kept off chain, never shown.")
    last_name: Text = _text(LIMITS["last_name"], "Kept off chain, never shown.")
    phone: Text = _text(LIMITS["phone"], "Kept off chain, never shown.", pattern=r"^[0-9+()\- ]{3,40}$")
    description: Text = _text(LIMITS["description"], "What is wrong (line breaks allowed; no HTML).")
    media_url: Text = _text(LIMITS["media_url"], "An http(s) URL of a photo or other media.",
                            pattern=r"^https?://[^\s]+$")

    @field_validator("*", mode="before")
    @classmethod
    def _utf8(cls, v: object) -> object:
        """A form body is UTF-8 (the WHATWG urlencoded parser), also where its characters are not
        percent-encoded (``curl -d 'description=路灯不亮'`` sends them as bytes); Starlette's parser reads
        such bytes as Latin-1. Read back as UTF-8 before any limit is checked (3 characters a
        Chinese one otherwise); a value that is not such text is left as it is."""
        if isinstance(v, str) and not v.isascii():
            try:
                return v.encode("latin-1").decode("utf-8")
            except UnicodeError:
                pass
        return v

    @field_validator("*", mode="after")
    @classmethod
    def _xml_characters(cls, v: object) -> object:
        if isinstance(v, str) and _NOT_XML.search(v):
            raise ValueError("contains a NUL or another control character")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.match(v):
            raise ValueError("not an e-mail address")
        return v

    @model_validator(mode="after")
    def _what_and_where(self) -> ReportCreate:
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat and long: send both or neither")
        if self.lat is None and self.address_string is None:
            raise ValueError("location: send lat and long, or address_string (address_id is not supported)")
        if self.description is None and self.media_url is None:
            raise ValueError("description: say what is wrong (or send a media_url)")
        return self


class ServicePublic(BaseModel):
    """A category with a service level on chain (GET Service List)."""

    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(description="Always false: no service here has attributes.")
    type: Literal["realtime"] = "realtime"
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    """GET Service Definition: no service here has attributes."""

    service_code: str
    attributes: list[dict[str, Any]] = Field(default_factory=list)


class RequestCreated(BaseModel):
    """POST Service Request's answer (``realtime``: the id at once, never a token)."""

    service_request_id: str
    service_notice: str | None
    account_id: None = None


class RequestPublic(BaseModel):
    """A service request as anyone may read it: never the reporter's contact."""

    service_request_id: str
    status: Literal["open", "closed"] = Field(description="closed: its case was closed (fixed or not fixed) on chain.")
    status_notes: str | None = Field(description="Where its case stands on chain.")
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None = Field(description="The lead department of the case that groups it.")
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str = Field(description="The latest of the report and its case's last event on chain.")
    expected_datetime: str | None = Field(description="The case's resolve deadline on chain.")
    address: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class DiscoveryEndpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    """The service discovery file (Open311's Service Discovery: required with GeoReport v2)."""

    changeset: str = Field(description="When the services last changed: the time of the latest service level set "
                                        "on chain.")
    contact: str
    key_service: str
    endpoints: list[DiscoveryEndpoint]


class Open311Error(BaseModel):
    """One error of an error answer (the answer is a list; XML: ``<errors><error>…``)."""

    code: int = Field(description="The HTTP status.")
    description: str
