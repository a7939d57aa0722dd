"""Options and argument readers the command modules share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.errors import ConfigError

KeyOpt = Annotated[str, typer.Option("--key", help="Keystore label of the signing account.")]
SchemaOpt = Annotated[
    Path | None,
    typer.Option("--schema", help="The file's Frictionless Table Schema (JSON); default: inferred from the file."),
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option("--password-file", help="File holding the keystore password (else $COGOV_KEYSTORE_PASSWORD)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def read_file(path: Path) -> bytes:
    """The bytes of ``path``; a :class:`ConfigError` naming it when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
