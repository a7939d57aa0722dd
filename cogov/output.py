"""The CLI's output layer: the only place that prints. Errors are one clear line."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger.display import DECIMALS, local_time, span, yuan
from ledger.errors import (
    ArtifactMismatch,
    ChainMismatch,
    ChainUnavailable,
    ConfigError,
    ContractReverted,
    DeploymentMismatch,
    KeystoreError,
    LedgerError,
    NotDeployed,
)

if TYPE_CHECKING:
    from ledger.client import TxReceipt

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

VERBOSE = {"on": False}

EXIT_CHECK_FAILED = 1
EXIT_CHAIN = 3
EXIT_REVERTED = 4
EXIT_CONFIG = 5
EXIT_OTHER = 6


def exit_code(exc: LedgerError) -> int:
    if isinstance(exc, ArtifactMismatch):
        return EXIT_CHECK_FAILED
    if isinstance(exc, ChainUnavailable | ChainMismatch | DeploymentMismatch | NotDeployed):
        return EXIT_CHAIN
    if isinstance(exc, ContractReverted):
        return EXIT_REVERTED
    if isinstance(exc, ConfigError | KeystoreError):
        return EXIT_CONFIG
    return EXIT_OTHER


def run(app: typer.Typer) -> int:
    """Run the Typer app; map ledger errors to one line and an exit code."""
    if "--verbose" in sys.argv[1:] or "-v" in sys.argv[1:2]:
        VERBOSE["on"] = True
    logging.basicConfig(
        level=logging.DEBUG if VERBOSE["on"] else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()  # standalone: usage errors exit 2 with click's message, --help exits 0
    except LedgerError as exc:
        if VERBOSE["on"]:
            err_console.print(traceback.format_exc(), markup=False)
        sys.stderr.write(f"error: {_one_line(exc.message)}\n")
        return exit_code(exc)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def say(msg: str) -> None:
    console.print(msg, markup=False, soft_wrap=True)


def ok(msg: str) -> None:
    console.print(f"[green]✓[/green] {msg}")


def warn(msg: str) -> None:
    err_console.print(f"warning: {msg}", markup=False)


def when(unix_time: int) -> str:
    """A chain time for people, in the machine's zone (``TZ``) with its offset: ``2026-12-05 21:43
    +08:00``; 0 is "—"."""
    return local_time(unix_time)


def money(units: int, decimals: int = DECIMALS) -> str:
    """An amount of the settlement token for people: ``1,234.50 元``."""
    return yuan(units, decimals)


def duration(seconds: int) -> str:
    """A length of time for people: ``3 d 4 h``."""
    return span(seconds)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if hasattr(v, "model_dump"):
        return v.model_dump(mode="json")
    if hasattr(v, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(v)
    return str(v)


def tx_line(r: TxReceipt) -> str:
    """Where a write landed, in one line."""
    return f"tx {r.tx_hash}, block {r.block_number}, gas {r.gas_used}"


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(x) for x in r])
    console.print(t)


class ProgressHandle(Protocol):
    """What ``progress`` yields: advance the bar, change its fields or its description."""

    def advance(self, n: int = 1) -> None: ...

    def update(self, **kw: Any) -> None: ...

    def message(self, text: str) -> None: ...


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[ProgressHandle]:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as p:
        task = p.add_task(description, total=total)

        class _Handle:
            def advance(self, n: int = 1) -> None:
                p.advance(task, n)

            def update(self, **kw: Any) -> None:
                p.update(task, **kw)

            def message(self, text: str) -> None:
                p.update(task, description=text)

        yield _Handle()


def run_guarded(fn: Callable[[], object]) -> int:
    """Run a plain function like a command: ledger errors become one line and an exit code."""
    try:
        fn()
    except LedgerError as exc:
        if VERBOSE["on"]:
            err_console.print(traceback.format_exc(), markup=False)
        sys.stderr.write(f"error: {_one_line(exc.message)}\n")
        return exit_code(exc)
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())
