"""How the ledger's numbers read for people: money in 元, chain times as local dates, lengths of
time. One place for each, used by the CLI's tables (``cogov/output.py``) and by the refusals in
words (:mod:`ledger.refusals`). Nothing here imports the rest of the ledger."""

from __future__ import annotations

from datetime import datetime, tzinfo

#: The settlement token's decimals (CommunityCredit: 1 unit = 1 分) where no token is asked.
DECIMALS = 2


def format_amount(units: int, decimals: int = DECIMALS) -> str:
    """Integer units to decimal text with exactly ``decimals`` places (``123450`` → ``"1234.50"``)."""
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(int(units)), 10**decimals)
    return f"{sign}{q}.{r:0{decimals}d}" if decimals else f"{sign}{q}"


def yuan(units: int, decimals: int = DECIMALS) -> str:
    """Money for people: ``123450`` → ``"1,234.50 元"``."""
    whole, _, frac = format_amount(units, decimals).partition(".")
    grouped = f"{int(whole):,}" if whole != "-0" else "-0"
    return f"{grouped}.{frac} 元" if frac else f"{grouped} 元"


def local_time(unix_time: int, zone: tzinfo | None = None) -> str:
    """A chain time for people, in ``zone`` (default: the machine's, ``TZ``), its offset said:
    ``2026-12-06 12:30 +08:00``; 0 (never, not set) is ``—``."""
    if not unix_time:
        return "—"
    at = datetime.fromtimestamp(int(unix_time), zone).astimezone(zone)
    return f"{at:%Y-%m-%d %H:%M} {at.isoformat()[-6:]}"


def span(seconds: int) -> str:
    """A length of time for people: ``3 d 4 h``, ``2 h 30 min``, ``45 s``."""
    seconds = int(seconds)
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    if secs or not parts:
        parts.append(f"{secs} s")
    return ("-" if seconds < 0 else "") + " ".join(parts[:2])
