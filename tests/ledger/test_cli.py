"""The CLI: --help everywhere, one-line errors with stable exit codes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click
import pytest
import typer.main

from cogov import app
from tests.ledger.cogov_cli import COGOV


def _commands(group: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if hasattr(group, "list_commands"):  # typer vendors its own click
        ctx = click.Context(group)
        for name in sorted(group.list_commands(ctx)):
            cmd = group.get_command(ctx, name)
            assert cmd is not None
            out.extend(_commands(cmd, (*prefix, name)))
    return out


ALL = _commands(typer.main.get_command(app))


def test_the_cli_has_the_foundation_commands() -> None:
    names = {" ".join(c) for c in ALL}
    for expected in ["compile", "chain up", "chain down", "chain status", "keys new", "keys list",
                     "deploy", "serve", "apikeys create", "index rebuild", "index sync"]:
        assert expected in names


@pytest.mark.parametrize("command", ALL, ids=lambda c: " ".join(c) or "cogov")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_errors_are_one_line_with_an_exit_code(tmp_path: Path) -> None:
    r = subprocess.run(
        [*COGOV, "--rpc-url", "http://127.0.0.1:9", "--manifest", str(tmp_path / "none.json"), "index", "status"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 3, r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert r.stderr.startswith("error: no deployment manifest")


def test_keys_never_printed(tmp_path: Path) -> None:
    import json
    import os

    env = {**os.environ, "COGOV_KEYSTORE_DIR": str(tmp_path / "keys"), "COGOV_KEYSTORE_PASSWORD": "pw-not-secret"}
    r = subprocess.run([*COGOV, "keys", "new", "alice"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "keys" / "alice.json").read_text())
    assert "ciphertext" in data["crypto"]
    from eth_account import Account

    key = Account.decrypt(data, "pw-not-secret").hex()
    listing = subprocess.run([*COGOV, "keys", "list"], capture_output=True, text=True, timeout=60, env=env)
    for text in (r.stdout, r.stderr, listing.stdout, listing.stderr):
        assert key not in text and key.removeprefix("0x") not in text
        assert "pw-not-secret" not in text
    assert (tmp_path / "keys" / "alice.json").stat().st_mode & 0o077 == 0
    wrong = subprocess.run([*COGOV, "keys", "new", "alice"], capture_output=True, text=True, timeout=60, env=env)
    assert wrong.returncode == 5 and "exists already" in wrong.stderr


def test_password_is_never_an_argument() -> None:
    from typer.testing import CliRunner

    for command in ALL:
        result = CliRunner().invoke(app, [*command, "--help"])
        assert "--password " not in result.output and "--password=" not in result.output
