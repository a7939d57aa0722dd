"""Lazily built things commands share: settings, the ledger, the keystore, signers, the contracts' wrappers."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.client import Ledger
from ledger.config import Settings
from ledger.keys import Keystore, Signer, read_password
from ledger.manifest import Manifest

if TYPE_CHECKING:
    from ledger.data import DataSharing
    from ledger.fund import Fund
    from ledger.membership import Registry


class Env:
    def __init__(self, rpc_url: str | None = None, manifest: Path | None = None) -> None:
        overrides: dict[str, object] = {}
        if rpc_url:
            overrides["rpc_urls"] = rpc_url
        if manifest:
            overrides["manifest_path"] = manifest
        self.settings = Settings(**overrides)  # type: ignore[arg-type]

    @cached_property
    def keystore(self) -> Keystore:
        return Keystore(self.settings.keystore_dir)

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest.load(self.settings.manifest_path)

    def ledger(self, with_manifest: bool = True, check: bool = True) -> Ledger:
        led = Ledger(
            self.settings.rpc_urls,
            confirmations=self.settings.confirmations,
            receipt_timeout=self.settings.receipt_timeout,
        )
        if with_manifest:
            led.manifest = self.manifest
            for name, dep in self.manifest.contracts.items():
                led.register(name, dep.address)
            if check:
                led.check_chain()
        return led

    def signer(self, label: str, password_file: Path | None = None) -> Signer:
        return self.keystore.signer(label, read_password(password_file))

    # The contracts' wrappers over a fresh :meth:`ledger`, imported when a command needs one.

    def registry(self) -> Registry:
        from ledger.membership import Registry

        return Registry(self.ledger())

    def data_sharing(self) -> DataSharing:
        from ledger.data import DataSharing

        return DataSharing(self.ledger())

    def fund(self) -> Fund:
        from ledger.fund import Fund

        return Fund(self.ledger())


_env: dict[str, Env] = {}


def set_env(env: Env) -> None:
    _env["current"] = env


def env() -> Env:
    if "current" not in _env:
        _env["current"] = Env()
    return _env["current"]
