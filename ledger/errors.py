"""One error hierarchy for everything the ledger can refuse or fail at.

Every error the library raises descends from :class:`LedgerError`, and every
class is declared here. The library knows nothing of HTTP: the API maps each
class to a status in its own table (``api/problems.py``), and the CLI prints
``str(error)`` as one line with an exit code per class. Constructors take typed
arguments and build the message, so call sites stay short and messages stay
consistent.

No message ever contains a private key, a password or an API key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ledger.refusals import sentence


def redact_url(url: str) -> str:
    """``url`` fit for logs and messages: user, password, query and fragment removed
    (``http://user:pass@node:8545/?key=k`` -> ``http://node:8545/``)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return "<rpc url>" if url else url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """``text`` with the credentials of any URL in it hidden (``scheme://***@host``): reports
    and messages name nodes and databases, never their passwords or tokens."""
    return _USERINFO.sub("***@", text)


class LedgerError(Exception):
    """Root of every error raised by ``ledger``."""

    #: A short machine-readable code (the API's problem type ends with it).
    code: str = "ledger-error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class ConfigError(LedgerError):
    """The configuration or an input file is missing or invalid."""

    code = "config-error"


class GethUnavailable(ConfigError):
    """geth is missing and cannot be built here."""

    code = "geth-unavailable"


class ValidationFailed(LedgerError):
    """An argument is invalid before anything is sent."""

    code = "validation-failed"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class ChainUnavailable(LedgerError):
    """The JSON-RPC endpoint does not answer."""

    code = "chain-unavailable"

    def __init__(self, url: str, reason: str = "no answer") -> None:
        url = ", ".join(redact_url(u) for u in url.split(", "))  # never a credential in a message
        super().__init__(f"chain at {url} is unavailable: {reason}", url=url)
        self.url = url
        self.reason = reason


class PortTaken(LedgerError):
    """The port answers, but not as our chain."""

    code = "port-taken"

    def __init__(self, host: str, port: int, who: str) -> None:
        super().__init__(
            f"{host}:{port} is in use by {who}, not by our chain; "
            "stop it or set another port in ganache.yml",
            host=host,
            port=port,
        )


class NotADevChain(LedgerError):
    """A development-chain helper (funding from unlocked accounts) asked of another chain."""

    code = "not-a-dev-chain"


class NetworkError(LedgerError):
    """The local network cannot be created, started or reached."""

    code = "network-error"


class SignerSyncRefused(LedgerError):
    """The registry would leave the network without signers."""

    code = "signer-sync-refused"


class RpcError(LedgerError):
    """A node answered a JSON-RPC request with an error (a revert, a refused range, an
    unknown method); ``data`` is the error's data, ``rpc_code`` its JSON-RPC code."""

    code = "rpc-error"

    def __init__(self, message: str, data: Any = None, rpc_code: int = 0) -> None:
        super().__init__(message, rpc_code=rpc_code)
        self.data = data
        self.rpc_code = rpc_code


class ChainMismatch(LedgerError):
    """The connected chain is not the chain of the deployment manifest."""

    code = "chain-mismatch"

    def __init__(self, what: str, expected: Any, actual: Any) -> None:
        super().__init__(
            f"connected chain does not match the deployment: {what} is {actual}, "
            f"manifest says {expected}",
            what=what,
            expected=str(expected),
            actual=str(actual),
        )


class DeploymentMismatch(LedgerError):
    """Code at a manifest address differs from the committed artifact."""

    code = "deployment-mismatch"

    def __init__(self, contract: str, address: str, reason: str) -> None:
        super().__init__(
            f"deployment of {contract} at {address} does not match: {reason}",
            contract=contract,
            address=address,
        )


class NotDeployed(LedgerError):
    """No manifest, or the manifest lacks a contract."""

    code = "not-deployed"


class ArtifactMismatch(LedgerError):
    """A committed artifact differs from a fresh compile."""

    code = "artifact-mismatch"

    def __init__(self, contract: str, field: str) -> None:
        super().__init__(
            f"committed artifact of {contract} differs from a fresh compile ({field})",
            contract=contract,
            field=field,
        )


class CompileError(LedgerError):
    """solc reported errors."""

    code = "compile-error"


class KeystoreError(LedgerError):
    """A keystore cannot be read, decrypted or written."""

    code = "keystore-error"


class ContractReverted(LedgerError):
    """A call or transaction reverted. Custom errors are decoded by name and arguments; the message
    says the refusal in words (:mod:`ledger.refusals`), the error's name after them."""

    code = "contract-reverted"

    def __init__(
        self,
        error_name: str,
        args: dict[str, Any] | None = None,
        *,
        tx_hash: str | None = None,
        raw: str | None = None,
    ) -> None:
        self.error_name = error_name
        self.error_args = dict(args or {})
        self.tx_hash = tx_hash
        self.raw = raw
        super().__init__(
            sentence(error_name, self.error_args),
            error=error_name,
            args={k: _render(v) for k, v in self.error_args.items()},
        )


class TransactionFailed(LedgerError):
    """A transaction could not be sent or confirmed for a reason other than a revert."""

    code = "transaction-failed"


class NonceSuperseded(TransactionFailed):
    """A signed transaction can never be mined: a different transaction holds its nonce on chain.

    The only case in which the ledger signs an intent a second time (another process sent
    from the same account); ``holder`` is the hash of the transaction that took the nonce,
    or None when the chain no longer keeps the state to name it.
    """

    code = "nonce-superseded"

    def __init__(self, tx_hash: str, sender: str, nonce: int, holder: str | None) -> None:
        held = f"transaction {holder}" if holder else "another transaction"
        super().__init__(
            f"transaction {tx_hash} can never be mined: nonce {nonce} of {sender} is held by {held}",
            tx_hash=tx_hash, sender=sender, nonce=nonce, holder=holder,
        )
        self.tx_hash = tx_hash
        self.sender = sender
        self.nonce = nonce
        self.holder = holder


class OutOfGas(ContractReverted):
    """A mined transaction failed out of gas (it used at least 63/64 of what it carried: out of gas
    itself or in a call it made) and nothing of it happened; its nonce and gas are spent. Its
    pre-flight passed with that limit, so its cost grew between the pre-flight and its block:
    another write came first (a second vote that now decides, say). A revert as far as anyone
    waiting for it is concerned (nothing changed: an Idempotency-Key is forgotten, pending texts
    go); sending the intent again is safe, and :meth:`ledger.client.Ledger.transact` does, once,
    with a fresh estimate."""

    code = "out-of-gas"

    def __init__(self, tx_hash: str, gas: int) -> None:
        self.error_name = "OutOfGas"
        self.error_args = {"gas": gas}
        self.tx_hash = tx_hash
        self.raw = None
        self.gas = gas
        LedgerError.__init__(
            self,
            f"transaction {tx_hash} ran out of its {gas:,} gas and changed nothing: another write made it "
            "dearer after its pre-flight; send it again (OutOfGas)",
            error="OutOfGas", args={"gas": str(gas)},
        )


class AccessDenied(LedgerError):
    """The caller lacks the right role or grant."""

    code = "access-denied"

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(f"access denied: {reason}", reason=reason, **context)
        self.reason = reason


class Unauthenticated(LedgerError):
    """No credentials, or credentials that match nobody."""

    code = "unauthenticated"


class NotFound(LedgerError):
    """A record that does not exist."""

    code = "not-found"

    def __init__(self, what: str, key: Any) -> None:
        super().__init__(f"{what} {key} not found", what=what, key=str(key))


class Conflict(LedgerError):
    """The request conflicts with the current state (e.g. an idempotency key reused)."""

    code = "conflict"


class IntegrityError(LedgerError):
    """Data failed an integrity check: tampered ciphertext, a hash mismatch."""

    code = "integrity-error"


class LogLocked(Conflict):
    """A transparency log is already open for appending in another process."""

    code = "log-locked"

    def __init__(self, directory: str) -> None:
        super().__init__(f"the transparency log {directory} is open in another process", directory=directory)


class QuotaExceeded(LedgerError):
    """A caller's quota of stored off-chain texts is used up (:class:`TooManyTexts`, :class:`TextsTooLarge`)."""

    code = "quota-exceeded"

    def __init__(self, what: str, limit: int, used: int, adding: int) -> None:
        unit = "texts" if what == "count" else "bytes of text"
        super().__init__(
            f"document quota exceeded: {used} {unit} stored, the limit is {limit} (this write adds {adding})",
            quota=what, limit=limit, used=used,
        )


class TooManyTexts(QuotaExceeded):
    """The caller's quota of stored texts (their number) is used up."""

    def __init__(self, limit: int, used: int, adding: int) -> None:
        super().__init__("count", limit, used, adding)


class TextsTooLarge(QuotaExceeded):
    """The caller's quota of stored text bytes is used up."""

    def __init__(self, limit: int, used: int, adding: int) -> None:
        super().__init__("bytes", limit, used, adding)


class GatewayUnavailable(LedgerError):
    """This gateway cannot act for a dataset's owner (it holds none of the owner's keys)."""

    code = "gateway-unavailable"


class AnchoringOverdue(GatewayUnavailable):
    """Fail closed: a member's access log is not anchored on chain within its MMD and grace, so the
    gateway serves none of that member's log-mode datasets until it is."""

    code = "anchoring-overdue"

    def __init__(self, member_id: int, overdue: float, mmd: float, cause: str | None) -> None:
        why = f"the last attempt failed: {cause}" if cause else "no anchor was attempted successfully"
        super().__init__(
            f"anchoring of member {member_id}'s access log is overdue by {overdue:.0f} s (maximum merge delay "
            f"{mmd:.0f} s plus grace): its datasets are not served until a checkpoint is anchored on chain; {why}",
            member_id=member_id,
            overdue=round(overdue, 1),
            retry_after=max(1, min(60, round(mmd / 4))),
        )


class GatewayIntegrityError(IntegrityError):
    """The gateway's stored copy of a dataset failed an integrity check: a server-side
    failure (tampering, or content that is not its owner's upload for it), nothing served."""

    code = "gateway-integrity"

    def __init__(self, dataset_id: int, content_hash: bytes, reason: str) -> None:
        super().__init__(
            f"the gateway's stored copy of dataset {dataset_id} failed an integrity check ({reason}); "
            "nothing was served and the operator is alerted",
            dataset_id=dataset_id,
            content_hash="0x" + content_hash.hex(),
        )


class IndexUnavailable(LedgerError):
    """The event index is missing, corrupt or being rebuilt."""

    code = "index-unavailable"


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class IndexChainMismatch(ChainMismatch):
    """The index database was built from another chain (or another deployment)."""

    def __init__(self, what: str, indexed: Any, connected: Any, db: str) -> None:
        LedgerError.__init__(
            self,
            f"event index {db} belongs to another chain: its {what} is {indexed}, "
            f"the connected chain's is {connected}; rebuild() the index to switch",
            what=what,
            expected=str(indexed),
            actual=str(connected),
        )


class SchemaBehind(ConfigError):
    """A database's schema is behind the code's newest migration (or was never migrated)."""

    code = "schema-behind"

    def __init__(self, what: str, db: str, current: str | None, head: str) -> None:
        at = f"at revision {current}" if current else "not migrated (empty, or made before migrations)"
        super().__init__(
            f"the {what} database {db} is {at}, behind this code's {head}: run `cogov db upgrade`",
            current=current,
            head=head,
        )
