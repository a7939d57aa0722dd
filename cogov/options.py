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


# The catalog fields of a new dataset's metadata document (DCAT-AP: docs/catalog.md).
KeywordsOpt = Annotated[str | None, typer.Option("--keywords", help="Comma-separated keywords (at most 20).")]
ThemesOpt = Annotated[
    str | None,
    typer.Option("--themes", help="Comma-separated EU data-theme codes: SOCI, HEAL, GOVE, ENVI, TRAN, REGI, …"),
]
ContactNameOpt = Annotated[str | None, typer.Option("--contact-name", help="Contact point: who answers questions.")]
ContactEmailOpt = Annotated[str | None, typer.Option("--contact-email", help="Contact point's email address.")]
ContactPhoneOpt = Annotated[str | None, typer.Option("--contact-phone", help="Contact point's telephone number.")]
LicenseOpt = Annotated[
    str | None,
    typer.Option(
        "--license",
        help="An http(s) URI, or cc-by-4.0, cc0-1.0 or restricted (default: cc-by-4.0 for public, else restricted).",
    ),
]
LanguageOpt = Annotated[str, typer.Option("--language", help="The texts' language: zh or en.")]


def catalog_options(  # type: ignore[no-untyped-def]
    cls,
    keywords: str | None,
    themes: str | None,
    contact_name: str | None,
    contact_email: str | None,
    contact_phone: str | None,
    license: str | None,
    language: str,
):
    """The new dataset's catalog fields from the command's options, validated."""
    from ledger.gateway.metadata import catalog_fields

    return catalog_fields(
        cls, keywords=keywords, themes=themes, contact_name=contact_name, contact_email=contact_email,
        contact_phone=contact_phone, license=license, language=language,
    )
