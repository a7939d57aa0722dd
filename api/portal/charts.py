"""Server-side SVG charts: no JavaScript, no build step, readable by screen readers.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; the same
figures are in a table next to it on the page. Marks that stand for one transaction
are links to ``/tx/{hash}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

IN_COLOR = "#0b6e4f"  # contrast ≥ 4.5:1 on white
OUT_COLOR = "#b3261e"
BAL_COLOR = "#1a4f8b"
MUTED = "#555"


def _svg(width: int, height: int, title: str, desc: str, body: str, cls: str) -> Markup:
    return Markup(
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{body}</svg>"
    )


def _nice_max(value: int) -> int:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def money_line(
    series: Sequence[dict[str, Any]],
    fmt: Callable[[int], str],
    labels: dict[str, str],
    width: int = 720,
    height: int = 280,
) -> Markup:
    """Cumulative money in, money out and the balance over time, as step lines."""
    pad_l, pad_r, pad_t, pad_b = 84, 16, 16, 44
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    if not series:
        body = (f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(labels['empty'])}</text>")
        return _svg(width, height, labels["title"], labels["empty"], body, "money-line")
    t0, t1 = int(series[0]["time"]), int(series[-1]["time"])
    if t1 == t0:
        t0 -= 1
    top = _nice_max(max(max(p["in"], p["out"]) for p in series))

    def x(t: int) -> float:
        return pad_l + (t - t0) / (t1 - t0) * w

    def y(v: int) -> float:
        return pad_t + h - v / top * h

    parts: list[str] = []
    for i in range(5):  # grid and y labels
        v = top * i // 4
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{MUTED}">{escape(fmt(v))}</text>')
    for t, anchor in ((t0, "start"), (t1, "end")):
        stamp = dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
        parts.append(f'<text x="{x(t):.1f}" y="{pad_t + h + 18}" text-anchor="{anchor}" font-size="12" '
                     f'fill="{MUTED}">{stamp} UTC</text>')
    for key, color in (("in", IN_COLOR), ("out", OUT_COLOR), ("balance", BAL_COLOR)):
        pts: list[str] = []
        prev = 0
        for p in series:
            v = p["in"] - p["out"] if key == "balance" else p[key]
            pts.append(f"{x(p['time']):.1f},{y(prev):.1f} {x(p['time']):.1f},{y(v):.1f}")
            prev = v
        pts.append(f"{pad_l + w:.1f},{y(prev):.1f}")
        dash = ' stroke-dasharray="6 4"' if key == "balance" else ""
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2.5"{dash} points="{" ".join(pts)}"/>')
    for p in series:  # one dot per transaction, linked to it
        for key, color in (("in", IN_COLOR), ("out", OUT_COLOR)):
            parts.append(
                f'<a href="/tx/{escape(p["tx_hash"])}"><circle cx="{x(p["time"]):.1f}" cy="{y(p[key]):.1f}" r="4" '
                f'fill="{color}"><title>{escape(labels[key])}: {escape(fmt(p[key]))} · '
                f'{escape(labels["block"])} {p["block"]}</title></circle></a>'
            )
    ly = height - 8
    for i, (key, color) in enumerate((("in", IN_COLOR), ("out", OUT_COLOR), ("balance", BAL_COLOR))):
        lx = pad_l + i * 170
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="14" height="4" fill="{color}"/>'
                     f'<text x="{lx + 20}" y="{ly - 4}" font-size="13" fill="#222">{escape(labels[key])}</text>')
    last = series[-1]
    desc = (f"{labels['in']}: {fmt(last['in'])}; {labels['out']}: {fmt(last['out'])}; "
            f"{labels['balance']}: {fmt(last['in'] - last['out'])}")
    return _svg(width, height, labels["title"], desc, "".join(parts), "money-line")


def bars(
    items: Sequence[tuple[str, int, str | None]],
    title: str,
    empty: str,
    color: str = BAL_COLOR,
    width: int = 720,
    bar_height: int = 26,
) -> Markup:
    """Horizontal bars: (label, value, link or None)."""
    if not items:
        body = f'<text x="{width / 2}" y="30" text-anchor="middle" fill="{MUTED}">{escape(empty)}</text>'
        return _svg(width, 50, title, empty, body, "bars")
    pad_l, pad_r = 150, 60
    top = max(v for _, v, _ in items) or 1
    height = len(items) * (bar_height + 8) + 8
    parts: list[str] = []
    for i, (label, value, href) in enumerate(items):
        yy = 8 + i * (bar_height + 8)
        bw = max(value / top * (width - pad_l - pad_r), 2 if value else 0)
        rect = f'<rect x="{pad_l}" y="{yy}" width="{bw:.1f}" height="{bar_height}" fill="{color}" rx="3"/>'
        if href:
            rect = f'<a href="{escape(href)}">{rect}</a>'
        parts.append(
            f'<text x="{pad_l - 8}" y="{yy + bar_height * 0.7:.1f}" text-anchor="end" font-size="14" '
            f'fill="#222">{escape(label)}</text>{rect}'
            f'<text x="{pad_l + bw + 6:.1f}" y="{yy + bar_height * 0.7:.1f}" font-size="14" fill="#222">{value}</text>'
        )
    desc = "; ".join(f"{label}: {value}" for label, value, _ in items)
    return _svg(width, height, title, desc, "".join(parts), "bars")


def flow(
    flows: Sequence[dict[str, Any]],
    left_label: Callable[[int], str],
    right_label: Callable[[str], str],
    right_href: Callable[[str], str | None],
    fmt: Callable[[int], str],
    title: str,
    width: int = 720,
) -> Markup:
    """A small Sankey-like flow chart: contributions (left) → projects / refunded / unspent (right)."""
    lefts: list[int] = []
    rights: list[str] = []
    for f in flows:
        if f["receipt_id"] not in lefts:
            lefts.append(f["receipt_id"])
        if f["target"] not in rights:
            rights.append(f["target"])
    rights.sort(key=lambda r: (not r.startswith("p"), int(r[1:]) if r.startswith("p") else 0, r))
    total = sum(f["amount"] for f in flows) or 1
    node_w, gap, pad = 14, 14, 10
    usable = max(220, 60 * max(len(lefts), len(rights)))
    height = usable + pad * 2 + gap * max(len(lefts), len(rights))
    scale = usable / total
    lx, rx = 200, width - 200

    def stack(keys: Sequence[Any], amount_of: Callable[[Any], int]) -> dict[Any, list[float]]:
        pos: dict[Any, list[float]] = {}
        yy = float(pad)
        for k in keys:
            hh = max(amount_of(k) * scale, 3.0)
            pos[k] = [yy, hh, yy]  # top, height, cursor
            yy += hh + gap
        return pos

    lpos = stack(lefts, lambda k: sum(f["amount"] for f in flows if f["receipt_id"] == k))
    rpos = stack(rights, lambda k: sum(f["amount"] for f in flows if f["target"] == k))
    parts: list[str] = []
    colors = {"refunded": "#8a5a00", "unspent": "#6b6b6b"}
    for f in flows:
        th = max(f["amount"] * scale, 1.5)
        ly = lpos[f["receipt_id"]][2] + th / 2
        ry = rpos[f["target"]][2] + th / 2
        lpos[f["receipt_id"]][2] += th
        rpos[f["target"]][2] += th
        c = colors.get(f["target"], IN_COLOR)
        x1, x2 = lx + node_w, rx
        mid = (x1 + x2) / 2
        parts.append(
            f'<path d="M{x1},{ly:.1f} C{mid},{ly:.1f} {mid},{ry:.1f} {x2},{ry:.1f}" fill="none" '
            f'stroke="{c}" stroke-opacity="0.45" stroke-width="{th:.1f}"><title>#{f["receipt_id"]} → '
            f'{escape(right_label(f["target"]))}: {escape(fmt(f["amount"]))}</title></path>'
        )
    for k, (top_y, hh, _) in lpos.items():
        parts.append(f'<rect x="{lx}" y="{top_y:.1f}" width="{node_w}" height="{hh:.1f}" fill="{BAL_COLOR}"/>'
                     f'<text x="{lx - 6}" y="{top_y + hh / 2 + 5:.1f}" text-anchor="end" font-size="14" '
                     f'fill="#222">{escape(left_label(k))}</text>')
    for k, (top_y, hh, _) in rpos.items():
        label = f'<text x="{rx + node_w + 6}" y="{top_y + hh / 2 + 5:.1f}" font-size="14" fill="#222">' \
                f"{escape(right_label(k))}</text>"
        href = right_href(k)
        if href:
            label = f'<a href="{escape(href)}">{label}</a>'
        parts.append(f'<rect x="{rx}" y="{top_y:.1f}" width="{node_w}" height="{hh:.1f}" '
                     f'fill="{colors.get(k, IN_COLOR)}"/>{label}')
    desc = "; ".join(f"#{f['receipt_id']} → {right_label(f['target'])}: {fmt(f['amount'])}" for f in flows)
    return _svg(width, int(height), title, desc, "".join(parts), "flow")


def rate_columns(
    groups: Sequence[tuple[str, Sequence[tuple[float | None, str | None]]]],
    series: Sequence[tuple[str, str]],
    title: str,
    empty: str,
    width: int = 720,
    height: int = 280,
) -> Markup:
    """Rates (0 to 1) as grouped columns: a group per label (a month), a column per series (its
    label, colour), each (rate or None, link or None). A rate without a figure (its denominator
    is 0) is no column and reads "—", never 0 %."""
    if not groups:
        body = f'<text x="{width / 2}" y="30" text-anchor="middle" fill="{MUTED}">{escape(empty)}</text>'
        return _svg(width, 50, title, empty, body, "rate-columns")
    pad_l, pad_r, pad_t, pad_b = 44, 8, 20, 64
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    slot = w / len(groups)
    col = min(28.0, slot * 0.8 / len(series))
    parts: list[str] = []
    for i in range(5):  # 0 %, 25 %, ... 100 %
        yy = pad_t + h - h * i / 4
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
                     f'<text x="{pad_l - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{MUTED}">{25 * i}%</text>')
    for g, (label, values) in enumerate(groups):
        x0 = pad_l + g * slot + (slot - col * len(series)) / 2
        for s, ((name, color), (value, href)) in enumerate(zip(series, values, strict=True)):
            x = x0 + s * col
            shown = "—" if value is None else f"{value * 100:.1f}%"
            if value is None:
                mark = (f'<text x="{x + col / 2:.1f}" y="{pad_t + h - 4}" text-anchor="middle" font-size="11" '
                        f'fill="{MUTED}">—</text>')
            else:
                top = pad_t + h - h * value
                mark = (f'<rect x="{x + 1:.1f}" y="{top:.1f}" width="{col - 2:.1f}" height="{h * value:.1f}" '
                        f'fill="{color}"><title>{escape(label)} · {escape(name)}: {shown}</title></rect>')
                if href:
                    mark = f'<a href="{escape(href)}">{mark}</a>'
            parts.append(mark)
        parts.append(f'<text x="{pad_l + (g + 0.5) * slot:.1f}" y="{pad_t + h + 18}" text-anchor="middle" '
                     f'font-size="12" fill="#222">{escape(label)}</text>')
    for s, (name, color) in enumerate(series):  # the legend: two rows of two
        lx, ly = pad_l + (s % 2) * 300, height - 26 + (s // 2) * 18
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{lx + 18}" y="{ly}" font-size="13" fill="#222">{escape(name)}</text>')
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{name} {'—' if v is None else f'{v * 100:.1f}%'}"
                                 for (name, _), (v, _) in zip(series, values, strict=True))
        for label, values in groups)
    return _svg(width, height, title, desc, "".join(parts), "rate-columns")


#: The colours of the four case rates (response, resolution, satisfaction, on time).
RATE_COLORS = (BAL_COLOR, IN_COLOR, "#8a5a00", "#6a3d9a")
