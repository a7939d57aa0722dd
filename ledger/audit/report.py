"""Render an :class:`AuditReport`: JSON for machines, one self-contained HTML page for people.

The HTML has no external assets: styles inline, charts as inline SVG drawn here
(fund in and out over time; grants and accesses by department).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ledger.audit.findings import AuditReport, RuleResult

TEMPLATES = Path(__file__).resolve().parent / "templates"


def to_json(report: AuditReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> AuditReport:
    return AuditReport.model_validate_json(path.read_text(encoding="utf-8"))


def write_json(report: AuditReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(to_json(report), encoding="utf-8")
    tmp.replace(path)


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def fund_flow_svg(series: list[dict[str, Any]], width: int = 720, height: int = 240) -> str:
    """Cumulative money in and out of the fund, per block where it changed."""
    if not series:
        return '<p class="muted">No fund movements.</p>'
    pad_l, pad_r, pad_t, pad_b = 70, 20, 20, 40
    top = max(max(p["in"], p["out"]) for p in series) or 1
    n = len(series)

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - pad_b - (height - pad_t - pad_b) * v / top

    def path(key: str) -> str:
        pts = []
        prev = 0
        for i, p in enumerate(series):  # a step line: the value holds until the next change
            if i:
                pts.append(f"L{x(i):.1f},{y(prev):.1f}")
            pts.append(f"{'M' if not i else 'L'}{x(i):.1f},{y(p[key]):.1f}")
            prev = p[key]
        return " ".join(pts)

    first, last = series[0]["block"], series[-1]["block"]
    grid = "".join(
        f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(top * k / 4):.1f}" y2="{y(top * k / 4):.1f}" class="grid"/>'
        f'<text x="{pad_l - 6}" y="{y(top * k / 4) + 4:.1f}" text-anchor="end">{_fmt(top * k / 4)}</text>'
        for k in range(5)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Fund in and out over time">{grid}'
        f'<path d="{path("in")}" class="in"/><path d="{path("out")}" class="out"/>'
        f'<text x="{pad_l}" y="{height - 12}">block {first}</text>'
        f'<text x="{width - pad_r}" y="{height - 12}" text-anchor="end">block {last}</text>'
        f'<rect x="{pad_l + 10}" y="{pad_t}" width="10" height="10" class="in-box"/>'
        f'<text x="{pad_l + 24}" y="{pad_t + 9}">in (contributions)</text>'
        f'<rect x="{pad_l + 150}" y="{pad_t}" width="10" height="10" class="out-box"/>'
        f'<text x="{pad_l + 164}" y="{pad_t + 9}">out (payouts + refunds)</text></svg>'
    )


def department_svg(rows: list[dict[str, Any]], width: int = 720) -> str:
    """Grants held and accesses recorded, per grantee department (two bars each)."""
    if not rows:
        return '<p class="muted">No grants.</p>'
    bar, gap, label_w = 12, 10, 200
    height = 30 + len(rows) * (2 * bar + gap)
    top = max(max(r["grants"], r["accesses"]) for r in rows) or 1
    scale = (width - label_w - 80) / top
    parts = []
    for i, r in enumerate(rows):
        y0 = 24 + i * (2 * bar + gap)
        parts.append(f'<text x="{label_w - 8}" y="{y0 + bar + 4}" text-anchor="end">{escape(r["name"])}</text>')
        for j, (key, cls) in enumerate((("grants", "in-box"), ("accesses", "out-box"))):
            w = max(1.0, r[key] * scale)
            parts.append(
                f'<rect x="{label_w}" y="{y0 + j * bar}" width="{w:.1f}" height="{bar - 2}" class="{cls}"/>'
                f'<text x="{label_w + w + 4:.1f}" y="{y0 + j * bar + bar - 3}">{r[key]} {key}</text>'
            )
    legend = (
        '<rect x="0" y="4" width="10" height="10" class="in-box"/><text x="14" y="13">grants</text>'
        '<rect x="80" y="4" width="10" height="10" class="out-box"/><text x="94" y="13">accesses</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Grants and accesses by department">{legend}{"".join(parts)}</svg>'
    )


def to_html(report: AuditReport) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    template = env.get_template("report.html")
    groups: dict[str, list[RuleResult]] = {}
    for r in report.rules:
        groups.setdefault(r.group, []).append(r)
    return template.render(
        r=report,
        groups=groups,
        fund_chart=Markup(fund_flow_svg(report.charts.get("fund_flow", []))),  # built from numbers and escaped names
        dept_chart=Markup(department_svg(report.charts.get("by_department", []))),
        records=lambda f: json.dumps(f.records, ensure_ascii=False, indent=1, default=str),
    )


def write_html(report: AuditReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_html(report), encoding="utf-8")
