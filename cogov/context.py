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
    from ledger.cases import CaseDesk
    from ledger.data import DataSharing
    from ledger.fund import Fund
    from ledger.fund.docs import DocKind, DocStore, Draft
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

    def case_desk(self) -> CaseDesk:
        from ledger.cases import CaseDesk

        return CaseDesk(self.ledger())


_env: dict[str, Env] = {}


def set_env(env: Env) -> None:
    _env["current"] = env


def env() -> Env:
    if "current" not in _env:
        _env["current"] = Env()
    return _env["current"]


# ------------------------------------------------------------------ arguments naming accounts, members, texts


def open_docs() -> DocStore:
    """The deployment's off-chain texts (``COGOV_SERVICE_DB_URL``, as the API keeps them)."""
    from ledger.fund.docs import open_store

    return open_store(env().settings)


def account_of(value: str) -> str:
    """An address, or the address of a keystore label."""
    from eth_utils import is_address, to_checksum_address

    if value.startswith("0x"):
        if not is_address(value):
            from ledger.errors import ValidationFailed

            raise ValidationFailed("account", f"{value} is not an address")
        return str(to_checksum_address(value))
    return env().keystore.info(value).address


def member_id_of(value: str) -> int:
    """A member id from an id, an address or a keystore label."""
    from ledger.errors import NotFound

    if value.isdigit():
        return int(value)
    m = env().registry().member_of(account_of(value))
    if m is None:
        raise NotFound("member with account", value)
    return m.id


def text_or_file(
    kind: DocKind, option: str, text: str | None, path: Path | None
) -> tuple[DocStore, Draft | None, bytes]:
    """Exactly one of ``--<option>`` (a text kept off chain, drafted as ``kind``) and
    ``--<option>-file`` (a file whose keccak256 goes on chain): the store, the draft and the hash."""
    from cogov.options import read_file
    from ledger.errors import ValidationFailed
    from ledger.fund.docs import file_hash

    if (text is None) == (path is None):
        raise ValidationFailed(option, f"give --{option} or --{option}-file")
    docs = open_docs()
    if text is not None:
        draft = docs.draft(kind, text)
        return docs, draft, draft.hash
    assert path is not None
    return docs, None, file_hash(read_file(path))
