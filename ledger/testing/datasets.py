"""Synthetic dataset files for tests and benchmarks (no real person in them)."""

from __future__ import annotations

#: The districts the synthetic rows cycle through.
DISTRICTS: tuple[str, ...] = ("幸福里", "和平街", "光明路", "东风村")
#: The header of :func:`synthetic_csv`; its table schema's types, in order.
CSV_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "integer"),
    ("name", "string"),
    ("district", "string"),
    ("age", "integer"),
    ("needs_visit", "boolean"),
    ("visited_on", "date"),
)


def synthetic_csv(size: int) -> bytes:
    """A CSV of residents of at least ``size`` bytes (UTF-8, ``\\n`` line ends), with the
    fields of :data:`CSV_FIELDS`; row *i* (from 1) lives in ``DISTRICTS[i % 4]``, is
    ``70 + i % 30`` years old and needs a visit when *i* is even."""
    lines = [",".join(name for name, _ in CSV_FIELDS)]
    total = len(lines[0]) + 1
    i = 0
    while total < size:
        i += 1
        line = (
            f"{i},合成居民{i},{DISTRICTS[i % len(DISTRICTS)]},{70 + i % 30},"
            f"{'true' if i % 2 == 0 else 'false'},2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
        )
        lines.append(line)
        total += len(line.encode("utf-8")) + 1
    return ("\n".join(lines) + "\n").encode("utf-8")


__all__ = ["CSV_FIELDS", "DISTRICTS", "synthetic_csv"]
