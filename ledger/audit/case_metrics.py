"""The case metrics an API serves, against the auditor's own (rule ``cases.metrics-mismatch``).

``GET {api}/api/v1/cases/metrics?by=department|category|month`` answers (``api/schemas/cases.py``'s
``MetricsPublic``)::

    {"by": "department", "at": <chain time the figures are computed at>,
     "block_number": <the last indexed block>, "total": TALLY, "data": [TALLY, ...], ...}

    TALLY = {"key": "<member id, category or YYYY-MM>", "name": ...,
             "responses": {"dispatched", "on_time", "late"},
             "closings": {"closed", "fixed", "on_time", "open_overdue"},
             "satisfactions": {"records", "satisfied", "basically_satisfied", "dissatisfied"},
             "rates": {"response", "resolution", "satisfaction", "on_time"}}

For each grouping the auditor folds the CaseDesk events it scanned from the chain up to
``block_number`` (:class:`ledger.cases.CaseModel`), computes :func:`ledger.cases.tallies` and
:func:`ledger.cases.overall` at ``at``, and compares every count and rate of every group (a group
served and not computed, or computed and not served, is a mismatch too). ``at`` must be the
chain's time of ``block_number``: an API cannot pick the moment that suits it. An answer served
at a block beyond the audited head is not compared (a warning); an API that cannot be read is a
violation (the comparison was asked for).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

import httpx

from ledger.audit.collect import Collector
from ledger.audit.findings import Severity
from ledger.cases import BY, By, CaseModel, Tally, overall, tallies
from ledger.events import Event
from ledger.logs import Node, header

RULE = "cases.metrics-mismatch"
PATH = "/api/v1/cases/metrics"


def served_form(t: Tally) -> dict[str, dict[str, Any]]:
    """A tally as the API serves it (without its key and name): each part's counts, and the rates."""
    parts: dict[str, dict[str, Any]] = {
        "responses": asdict(t.responses), "closings": asdict(t.closings), "satisfactions": asdict(t.satisfactions),
    }
    return parts | {"rates": t.rates()}


def _differences(served: Mapping[str, Any], ours: Tally) -> dict[str, dict[str, Any]]:
    """Field by field (``part.field``), what the API served and what the auditor computed, where they differ."""
    out: dict[str, dict[str, Any]] = {}
    for part, fields in served_form(ours).items():
        got = served.get(part)
        for name, value in fields.items():
            theirs = got.get(name) if isinstance(got, Mapping) else None
            if theirs != value:
                out[f"{part}.{name}"] = {"api": theirs, "auditor": value}
    return out


def compare_metrics(
    by: By, answer: Mapping[str, Any], events: Iterable[Event], head: int, node: Node, out: Collector
) -> bool:
    """Compare one served answer (grouped ``by``) with the auditor's figures; True when compared."""
    try:
        block, at = int(answer["block_number"]), int(answer["at"])
        served = {str(g["key"]): g for g in answer["data"]}
        served_total = answer["total"]
    except (KeyError, TypeError, ValueError) as exc:
        out.expect(RULE, False, f"the API's metrics by {by} are not in the published shape ({exc!r})", by=by)
        return False
    if block > head:
        out.add(RULE, f"the API's metrics by {by} are at block {block}, beyond the audited head {head}: not compared",
                severity=Severity.WARNING, by=by, block_number=block)
        return False
    h = header(node, block)
    out.expect(RULE, h is not None and h.time == at,
               f"the API's metrics by {by} are computed at time {at}; block {block}'s time is "
               f"{h.time if h else 'unknown'}", by=by, block=block, at=at)
    model = CaseModel.of(e for e in events if e.block_number <= block)
    ours: dict[str, Tally] = {str(k): t for k, t in tallies(model, at, by).items()}
    ours["(total)"] = overall(model, at)
    served["(total)"] = served_total
    for key in sorted(set(ours) | set(served)):
        mine, theirs = ours.get(key), served.get(key)
        if mine is None or theirs is None:
            which = "served only by the API" if mine is None else "not served"
            out.expect(RULE, False, f"by {by}, group {key}: {which}", by=by, key=key, block=block)
            continue
        diff = _differences(theirs, mine)
        out.expect(RULE, not diff, f"by {by}, group {key}: {', '.join(sorted(diff))} differ from the auditor's",
                   by=by, key=key, block=block, fields=diff)
    return True


def check_api_metrics(
    client: httpx.Client, events: list[Event], head: int, node: Node, out: Collector
) -> dict[str, Any]:
    """Fetch ``GET /api/v1/cases/metrics?by=…`` for every grouping from ``client`` (its base URL and
    any API key set on it) and compare each answer (:func:`compare_metrics`). Returns what was compared."""
    compared: dict[str, Any] = {}
    for by in BY:
        try:
            r = client.get(PATH, params={"by": by})
            r.raise_for_status()
            answer = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            out.expect(RULE, False, f"the API's metrics by {by} could not be read: {exc}", by=by)
            continue
        if compare_metrics(by, answer, events, head, node, out):
            compared[by] = {"block_number": answer["block_number"], "at": answer["at"], "groups": len(answer["data"])}
    return compared


def api_client(url: str, api_key: str | None = None, timeout: float = 30.0) -> httpx.Client:
    """A client of the API at ``url`` (its bearer ``api_key``, when the endpoint wants one)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
