"""Residents' reports (Open311 service requests), off chain, in the service database.

One row per report: what the resident said (category, description, where, a media URL), who they
are (contact: e-mail, names, phone, device and account ids), when, and which client sent it (an
API key's id, else the client's address). None of it goes on chain. The chain only ever sees the
report's *commitment* (:mod:`ledger.commitment`, as for a request's purpose)::

    commitment = keccak256(salt ‖ utf8(opening text))     salt: 32 random bytes, kept here

where the opening text is the canonical JSON of the report's public fields (:func:`opening_text`:
its id, category, description, location, media URL and time; never the contact or the client).
A sub-district raising a case lists the commitments of the reports it groups (``CaseRaised``'s
``reportHashes``); whoever holds only the chain learns nothing from them and cannot confirm a
guess, and whoever is given the opening (:meth:`ReportStore.opening`) can prove what a report said.

SQLAlchemy Core over SQLite and PostgreSQL alike: every text is bounded by its column and free of
NUL (which PostgreSQL's text cannot hold), checked before the insert (:func:`check_text`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from api import marks
from api.apikeys import DataVersion
from ledger.advisory import shared
from ledger.commitment import Opening, new_salt
from ledger.errors import ValidationFailed

metadata = sa.MetaData()
#: The ``service_marks`` row counting the reports stored (PostgreSQL).
_COUNTED = "open311_reports"

# SQLite only gives an auto-incremented rowid to a column declared exactly INTEGER.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: The longest value of each bounded text column (the form's limits: api/schemas/open311.py).
LIMITS = {
    "description": 4000,  # GeoReport v2: "free form text limited to 4,000 characters"
    "address": 500,
    "media_url": 2000,
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "device_id": 100,
    "account_id": 100,
    "client": 80,
}

reports = sa.Table(
    "open311_reports",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),  # the service_request_id
    sa.Column("service_code", sa.Integer, nullable=False),  # the category on chain
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("address", sa.String(LIMITS["address"]), nullable=True),
    sa.Column("media_url", sa.String(LIMITS["media_url"]), nullable=True),
    sa.Column("email", sa.String(LIMITS["email"]), nullable=True),
    sa.Column("first_name", sa.String(LIMITS["first_name"]), nullable=True),
    sa.Column("last_name", sa.String(LIMITS["last_name"]), nullable=True),
    sa.Column("phone", sa.String(LIMITS["phone"]), nullable=True),
    sa.Column("device_id", sa.String(LIMITS["device_id"]), nullable=True),
    sa.Column("account_id", sa.String(LIMITS["account_id"]), nullable=True),
    sa.Column("client", sa.String(LIMITS["client"]), nullable=False),  # "key:<id>" | "ip:<address>"
    sa.Column("requested_at", sa.BigInteger, nullable=False),  # Unix time (seconds), the service's clock
    sa.Column("salt", sa.String(66), nullable=True),  # 0x + 64 hex; set with the commitment
    sa.Column("commitment", sa.String(66), nullable=True, unique=True),  # what a case lists on chain
    sa.Index("ix_open311_reports_requested", "requested_at"),
    sa.Index("ix_open311_reports_code", "service_code", "requested_at"),
)


@dataclass(frozen=True)
class Contact:
    """Who reported: never on chain, never in a public answer."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class NewReport:
    """A report as received (validated by the form: api/schemas/open311.py)."""

    service_code: int
    description: str | None
    lat: float | None
    lon: float | None
    address: str | None
    media_url: str | None
    contact: Contact
    client: str


@dataclass(frozen=True)
class Report(NewReport):
    """A stored report: its id (the ``service_request_id``), time and commitment."""

    id: int
    requested_at: int  # Unix time (seconds), the service's clock
    salt: str  # 0x + 64 hex
    commitment: str  # 0x + 64 hex: what a case lists on chain

    @property
    def opening(self) -> Opening:
        """The opening of :attr:`commitment` (:mod:`ledger.commitment`)."""
        return Opening(opening_text(self, self.id, self.requested_at), bytes.fromhex(self.salt[2:]))


def opening_text(r: NewReport, report_id: int, requested_at: int) -> str:
    """The text a report's commitment opens to: the canonical JSON (sorted keys, UTF-8, no spaces)
    of its public fields, its id and time. The contact and the client are not in it."""
    doc = {
        "service_request_id": str(report_id),
        "service_code": str(r.service_code),
        "description": r.description,
        "lat": r.lat,
        "long": r.lon,
        "address": r.address,
        "media_url": r.media_url,
        "requested_at": requested_at,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_text(field: str, value: str | None) -> None:
    """Refuse what the column cannot hold alike on every database: longer than its limit, or a NUL."""
    if value is None:
        return
    limit = LIMITS.get(field)
    if limit is not None and len(value) > limit:
        raise ValidationFailed(field, f"at most {limit} characters")
    if "\x00" in value:
        raise ValidationFailed(field, "must not contain NUL characters")


def _report(row: sa.RowMapping) -> Report:
    contact = Contact(
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        phone=row["phone"],
        device_id=row["device_id"],
        account_id=row["account_id"],
    )
    return Report(
        id=int(row["id"]),
        service_code=int(row["service_code"]),
        description=row["description"],
        lat=row["lat"],
        lon=row["lon"],
        address=row["address"],
        media_url=row["media_url"],
        contact=contact,
        client=str(row["client"]),
        requested_at=int(row["requested_at"]),
        salt=str(row["salt"]),
        commitment=str(row["commitment"]),
    )


@dataclass(frozen=True)
class ReportQuery:
    """The filters of :meth:`ReportStore.find` (all in SQL)."""

    ids: Sequence[int] | None = None  # when given, the other filters are ignored (GeoReport v2)
    codes: Sequence[int] | None = None
    since: int | None = None
    until: int | None = None


class ReportStore:
    """The ``open311_reports`` table of the service database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        self._shared = shared(engine)
        if self._shared:  # the migrations make it; a bare engine (tests) gets it here
            marks.metadata.create_all(engine)
        self._changes = DataVersion(engine)

    def version(self) -> Hashable:
        """A mark of the reports as they are now, to keep an answer made from them by (the
        sub-district's queue: api/routers/cases.py): read it *before* the reports, and a report
        committed after it (here or by another process) gives another mark. Over a SQLite file,
        the database's change counter (:class:`~api.apikeys.DataVersion`: no read of the table;
        any commit there changes it); over PostgreSQL the reports stored so far, counted by each
        :meth:`add` in its own transaction (``service_marks``: one row read by its key, however
        many reports there are; rows are only ever added, and each commit adds its one whatever
        order ids commit in). A database whose reports predate that count is counted by a query
        until its next report."""
        changed = self._changes.version()
        if changed is not None:
            return ("data_version", changed)
        with self.engine.connect() as conn:
            if self._shared:
                stored = marks.read(conn, _COUNTED)
                if stored is not None:
                    return ("counted", stored)
            count, top = conn.execute(sa.select(sa.func.count(), sa.func.max(reports.c.id))).one()
        return ("reports", int(count), None if top is None else int(top))

    def close(self) -> None:
        """Close the change counter's connection (the engine is its owner's)."""
        self._changes.close()

    def add(self, new: NewReport, now: int | None = None) -> Report:
        """Store a report and commit to it (one database transaction: the row, then its commitment,
        which covers the id the row was given)."""
        fields = {
            "description": new.description,
            "address": new.address,
            "media_url": new.media_url,
            "client": new.client,
            **asdict(new.contact),
        }
        for name, value in fields.items():
            check_text(name, value)
        at = int(time.time()) if now is None else now
        row = {"service_code": new.service_code, "lat": new.lat, "lon": new.lon, "requested_at": at, **fields}
        salt = new_salt()
        with self.engine.begin() as conn:
            inserted = conn.execute(reports.insert().values(**row)).inserted_primary_key
            assert inserted is not None
            report_id = int(inserted[0])
            commitment = Opening(opening_text(new, report_id, at), salt).commitment_hex
            conn.execute(
                reports.update()
                .where(reports.c.id == report_id)
                .values(salt="0x" + salt.hex(), commitment=commitment)
            )
            if self._shared:
                marks.add_one(conn, _COUNTED)
        found = self.get(report_id)
        assert found is not None
        return found

    def get(self, report_id: int) -> Report | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(reports).where(reports.c.id == report_id)).mappings().first()
        return _report(row) if row is not None else None

    def find(self, q: ReportQuery, limit: int, offset: int = 0) -> list[Report]:
        """Reports matching ``q``, newest first."""
        c = reports.c
        where: list[sa.ColumnElement[bool]] = []
        if q.ids is not None:
            where.append(c.id.in_(list(q.ids)))
        else:
            if q.codes is not None:
                where.append(c.service_code.in_(list(q.codes)))
            if q.since is not None:
                where.append(c.requested_at >= q.since)
            if q.until is not None:
                where.append(c.requested_at <= q.until)
        query = sa.select(reports).where(*where).order_by(c.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [_report(r) for r in conn.execute(query).mappings()]

    def keys(self) -> list[tuple[int, str]]:
        """Every report's (id, commitment), newest first: two short columns, what the sub-district's
        queue (:mod:`api.open311.queue`) splits into waiting and grouped before reading a page."""
        c = reports.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.id, c.commitment).order_by(c.id.desc())).all()
        return [(int(i), str(h)) for i, h in rows]

    def by_commitment(self, commitment: str) -> Report | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(reports).where(reports.c.commitment == commitment.lower())
            ).mappings().first()
        return _report(row) if row is not None else None


__all__ = ["LIMITS", "Contact", "NewReport", "Report", "ReportQuery", "ReportStore", "check_text", "opening_text"]
