"""The transaction pipeline: a prepared call is pre-flighted, signed, journaled, sent, and waited for.

A send is two steps. :meth:`TxPipeline.send` returns a :class:`Pending` (the hash, the signed
bytes, the sender, the nonce, the call) once the transaction is on its way; it hands the
:class:`Pending` to a :class:`Journal` *before* the bytes leave the process, so whoever must
survive a crash mid-write (the API's idempotency store, the pending texts of a write) has it
first. :meth:`Pending.wait` waits for the receipt and the confirmations.

Exactly once: an intent is signed once, and only those same signed bytes are ever sent again
(one hash: at most one transaction on chain). A send whose outcome is unclear ("nonce too
low", no node answering) is settled on chain before anything is signed again
(:meth:`TxPipeline._settle`); the one case in which an intent is signed a second time is a
different transaction holding its nonce (:class:`~ledger.errors.NonceSuperseded`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from eth_account import Account
from eth_utils import keccak

from ledger.errors import ChainUnavailable, ContractReverted, LedgerError, NonceSuperseded, TransactionFailed
from ledger.keys import Signer
from ledger.rpc import RpcClient, RpcError, revert_from
from ledger.tx.gas import GasPlanner
from ledger.tx.nonces import NonceManager, NonceSlot, call_of, nonce_holder, tx_nonce
from ledger.tx.outbox import Outboxes, QueuedSend, Resync
from ledger.tx.receipts import LogDecoder, Receipts, TxReceipt, not_confirmed
from ledger.tx.status import TxStatus, status

log = logging.getLogger("ledger.tx.pipeline")

#: Seconds without a receipt before checking that the node still has the transaction
#: (and every earlier nonce of its sender that we signed).
RESEND_AFTER = 5.0
#: Seconds between those checks while no node answers them (a node restarting): the same bytes go
#: again as soon as it is back, within the wait, rather than a whole RESEND_AFTER later.
RECHECK_WHILE_DOWN = 0.25
#: Signed transactions kept per ledger, to send the same bytes again when a node lost one.
RECENT_KEPT = 4096
#: On Ganache, the longest an account's next send waits for its last transaction to be mined
#: (:meth:`TxPipeline._until_mined`); past it the next one goes anyway.
GANACHE_MINED_WAIT = 2.0


@dataclass(frozen=True)
class ContractCall:
    """A write, prepared: where it goes and what it carries (nothing signed yet).

    ``to`` None deploys ``data`` as a contract. ``gas`` None: the pipeline finds the limit.
    ``contract``, ``function`` and ``args`` say what ``data`` encodes (for people, and for a
    wrapper that needs an argument back; empty for a plain transfer).
    """

    to: str | None
    data: str
    value: int = 0
    gas: int | None = None
    contract: str | None = None
    function: str | None = None
    args: tuple[Any, ...] = ()

    def tx(self, sender: str) -> dict[str, Any]:
        """The call as JSON-RPC sends it from ``sender`` (for ``eth_call``, ``eth_estimateGas``)."""
        tx: dict[str, Any] = {"from": sender, "data": self.data, "value": hex(self.value)}
        if self.to is not None:
            tx["to"] = self.to
        return tx


@dataclass(eq=False)
class Pending:
    """A transaction signed and sent, not yet known to be mined: :meth:`wait` for its receipt."""

    tx_hash: str
    raw: bytes  # the signed bytes: what is sent again, never anything newly signed
    sender: str
    nonce: int
    call: ContractCall
    pipeline: TxPipeline | None = field(default=None, repr=False)
    _receipt: TxReceipt | None = field(default=None, init=False, repr=False)

    @property
    def done(self) -> bool:
        """Whether :meth:`wait` has returned its receipt already."""
        return self._receipt is not None

    def wait(self, timeout: float | None = None) -> TxReceipt:
        """The receipt, once mined with the ledger's confirmations; the same bytes are sent again
        while a node has lost them. Raises :class:`~ledger.errors.ContractReverted` (mined and
        reverted, the error named), :class:`~ledger.errors.NonceSuperseded` (it can never be
        mined), :class:`~ledger.errors.TransactionFailed` (no receipt in time)."""
        if self._receipt is None:
            if self.pipeline is None:
                raise TransactionFailed(f"transaction {self.tx_hash} was not sent by this process")
            self._receipt = self.pipeline.wait(self, timeout)
        return self._receipt


class Journal(Protocol):
    """Keeps a :class:`Pending` before its bytes leave the process (persisted, to survive a crash)."""

    def record(self, pending: Pending) -> None: ...


class Journals:
    """Several journals, kept in order (a failure stops the send: nothing leaves)."""

    def __init__(self, *journals: Journal | None) -> None:
        self._journals = tuple(j for j in journals if j is not None)

    def record(self, pending: Pending) -> None:
        for journal in self._journals:
            journal.record(pending)


class TxPipeline:
    """Nonces, gas and pre-flight, signing, sending and re-sending, receipts: one per ledger."""

    def __init__(
        self, rpc: RpcClient, decoder: LogDecoder, *, confirmations: int = 1, receipt_timeout: float = 120.0,
        preflight: bool = True,
    ) -> None:
        self.rpc = rpc
        self.nonces = NonceManager(rpc)
        self.gas = GasPlanner(rpc, preflight=preflight)
        self.receipts = Receipts(rpc, decoder, confirmations=confirmations, timeout=receipt_timeout)
        self._recent: dict[tuple[str, int], bytes] = {}  # (sender, nonce) -> signed bytes we sent
        self._recent_lock = threading.Lock()
        self._outboxes = Outboxes()

    @cached_property
    def chain_id(self) -> int:
        return self.rpc.chain_id()

    # ------------------------------------------------------------------ send

    def send(self, signer: Signer, call: ContractCall, journal: Journal | None = None) -> Pending:
        """Pre-flight (a revert is :class:`~ledger.errors.ContractReverted` before anything is
        signed), sign, ``journal.record`` the :class:`Pending`, send; return it."""
        gas = self.gas.limit(call.tx(signer.address), call.gas)
        try:
            return self._sign_and_send(signer, call, gas, journal)
        except NonceSuperseded as exc:
            # A different transaction holds our nonce on chain (another process sent from this
            # account) and no node has ours mined or pending: it can never be mined. The
            # reservation re-reads the nonce; this is the one case in which an intent is signed again.
            log.info("%s; signing again", exc.message)
        return self._sign_and_send(signer, call, gas, journal)

    def _sign_and_send(self, signer: Signer, call: ContractCall, gas: int, journal: Journal | None) -> Pending:
        """Sign and send in the account's next send group (:class:`~ledger.tx.outbox.Outboxes`)."""
        item = QueuedSend(signer, call, gas, journal)
        if not self._outboxes.join(item):
            item.ready.wait()  # sent by a leader, or this caller leads the next group
        if item.lead and not item.finished:
            try:
                self._send_group(signer.address, self._outboxes.take(signer.address))
            finally:
                self._outboxes.hand_over(signer.address)
        if item.error is not None:
            raise item.error
        assert item.pending is not None
        return item.pending

    def _send_group(self, sender: str, group: list[QueuedSend]) -> None:
        """One reservation of the account's nonces for every write queued for it: each signed at the
        next nonce and journaled, then all sent (one JSON-RPC batch), in nonce
        order; every item gets its Pending or its error, and its caller is woken."""
        try:
            gas_price = self.gas.price()
            sent: list[tuple[QueuedSend, bytes]] = []
            try:
                with self.nonces.reserve(sender) as slot:
                    for item in group:
                        try:
                            signed = self._sign_at(slot, item.signer, item.call, item.gas, gas_price)
                            pending = Pending("0x" + keccak(signed).hex(), signed, sender, slot.value, item.call, self)
                            if item.journal is not None:
                                item.journal.record(pending)
                        except Exception as exc:  # this one failed before anything left: the next takes the nonce
                            item.error = exc
                            continue
                        item.pending = pending
                        sent.append((item, signed))
                        slot.value += 1
                    if not sent:
                        raise next(i.error for i in group if i.error is not None)  # nothing used: resync
                    slot.value -= 1  # the last nonce used
                    if not self._deliver_all(sender, sent):
                        raise Resync()  # a refused one may have left a gap: the next reservation re-reads
                    last = sent[-1][0].pending
                    if self.ganache and last is not None:
                        self._until_mined(sender, last)  # the reservation held meanwhile
            except Resync:
                pass
            except Exception as exc:
                for item in group:
                    if item.pending is None and item.error is None:
                        item.error = exc
        except BaseException as exc:
            for item in group:
                if item.error is None and (item.pending is None or not item.delivered):
                    item.error = exc
            raise
        finally:
            for item in group:
                if item.error is not None:
                    item.pending = None
                item.finished = True
                item.ready.set()

    def _deliver_all(self, sender: str, sent: list[tuple[QueuedSend, bytes]]) -> bool:
        """Send the signed group in nonce order, in one JSON-RPC batch; an answer that is not a plain
        acceptance, and every item of a batch that got no answers, is delivered again on its own by
        :meth:`_deliver` (the same bytes: settled as a single send is). False when one was refused
        (later nonces may wait behind it until the account's next write takes its nonce)."""
        answers: list[Any] = [None] * len(sent)
        if len(sent) > 1:
            try:
                answers = self.rpc.batch([("eth_sendRawTransaction", ["0x" + raw.hex()]) for _, raw in sent])
            except (ChainUnavailable, RpcError):
                answers = [None] * len(sent)
        ok = True
        for (item, raw), answer in zip(sent, answers, strict=True):
            assert item.pending is not None
            try:
                if not (isinstance(answer, str) and answer.lower() == item.pending.tx_hash):
                    self._deliver(raw, item.pending.tx_hash, sender)
            except Exception as exc:
                item.error, ok = exc, False
                continue
            item.delivered = True
            self._remember(sender, item.pending.nonce, raw)
        return ok

    def _sign_at(self, slot: NonceSlot, signer: Signer, call: ContractCall, gas: int, gas_price: int) -> bytes:
        """``call`` signed at the slot's nonce (moving the slot past nonces holding identical bytes of ours)."""
        signed = self._sign(signer, call, gas, gas_price, slot.value)
        skipped = False
        while self._recent_at(signer.address, slot.value) == signed:
            # Another intent of ours signed these very bytes at this nonce, and the node forgot
            # them (a restart lost its pool, so its count handed the nonce out again). Signing
            # here would make two intents one transaction; that one keeps its nonce and this
            # one takes the next.
            log.warning("nonce %d of %s holds an identical transaction of ours; using the next one",
                        slot.value, signer.address)
            slot.value += 1
            skipped = True
            signed = self._sign(signer, call, gas, gas_price, slot.value)
        if skipped:
            # The node lost those transactions: send their same bytes again now, so this one
            # does not wait behind a gap that only their own (perhaps finished) waiters would fill.
            try:
                self._fill_gap(signer.address, signed)
            except LedgerError as exc:  # their own waiters may still send them; ours goes on
                log.warning("re-sending the transactions before nonce %d failed: %s", slot.value, exc)
        return signed

    def rebroadcast(self, signed: bytes) -> str:
        """Send already-signed bytes again (same hash: never a second transaction); returns the hash.

        Returns once the transaction is on its way: a node took it, or some node already knows
        it (pending or mined: a "nonce too low" for a copy mined meanwhile is no failure).
        Raises :class:`NonceSuperseded` only when a different transaction holds its nonce on
        chain, the one case in which the intent may be signed again.
        """
        tx_hash = "0x" + keccak(signed).hex()
        self._deliver(signed, tx_hash, str(Account.recover_transaction(signed)))
        return tx_hash

    def _deliver(self, signed: bytes, tx_hash: str, sender: str) -> None:
        """Send ``signed``; an ambiguous outcome is settled on chain before anyone may sign again.

        A refusal that names a revert is final. Any other failure (a node's refusal such as
        "nonce too low", or no node answering) may hide a copy that a node took without its
        answer arriving: :meth:`_settle` decides.
        """
        try:
            self._send_raw(signed, tx_hash)
        except ContractReverted:
            raise
        except (TransactionFailed, ChainUnavailable) as exc:
            self._settle(signed, tx_hash, sender, exc)

    def _settle(self, signed: bytes, tx_hash: str, sender: str, cause: LedgerError) -> None:
        """After a failed send, decide from the chain, asking every node the client knows.

        Returns when ``tx_hash`` is mined (it holds its nonce on a node's chain) or pending (in a
        node's pool while its nonce is still free there). Raises :class:`NonceSuperseded` when a
        node's chain has its nonce used by a different transaction and no node has it mined or
        pending. Otherwise (its nonce still free everywhere, no node answering) re-raises
        ``cause``: nothing is proven, and these same bytes may still be mined. A node that does
        not answer cannot veto the verdict of those that do. (A lookup entry alone proves
        nothing: Ganache killed mid-block keeps entries of transactions whose block it lost.)
        """
        nonce = tx_nonce(signed)
        holders: list[str | None] = []  # per node whose chain used the nonce: by which transaction
        for node, url in enumerate(self.rpc.urls):
            try:
                used, holder = nonce_holder(self.rpc, node, sender, nonce)
                if used and holder is None and self.rpc.request_at(node, "eth_getTransactionReceipt", [tx_hash]):
                    holder = tx_hash  # no state old enough to search; its receipt says it is ours
                if holder is not None and holder.lower() == tx_hash.lower():
                    log.info("%s is mined on %s (%s): not signing again", tx_hash, url, cause.message)
                    return
                found = None if used else self.rpc.request_at(node, "eth_getTransactionByHash", [tx_hash])
                if found and (
                    found.get("blockNumber") is None
                    or self.rpc.request_at(node, "eth_getTransactionReceipt", [tx_hash])
                ):
                    # in the pool, or mined since its nonce was looked at
                    log.info("%s is pending or mined on %s (%s): not signing again", tx_hash, url, cause.message)
                    return
            except (ChainUnavailable, RpcError) as exc:
                log.warning("could not settle %s with %s: %s", tx_hash, url, exc)
                continue
            if used:
                holders.append(holder)
        if not holders:
            raise cause
        raise NonceSuperseded(tx_hash, sender, nonce, next((h for h in holders if h), None)) from cause

    def _send_raw(self, signed: bytes, tx_hash: str) -> None:
        try:
            self.rpc.request("eth_sendRawTransaction", ["0x" + signed.hex()])
        except RpcError as exc:
            msg = exc.message.lower()
            if "already known" in msg or "already imported" in msg or "known transaction" in msg:
                return  # the same signed bytes are on their way: not a second transaction
            if exc.data is not None or "revert" in msg:
                raise revert_from(exc, tx_hash=tx_hash) from exc
            raise TransactionFailed(f"node refused transaction {tx_hash}: {exc.message}") from exc

    def _sign(self, signer: Signer, call: ContractCall, gas: int, gas_price: int, nonce: int) -> bytes:
        return signer.sign_transaction(
            {
                "chainId": self.chain_id,
                "nonce": nonce,
                "gas": gas,
                "gasPrice": gas_price,
                "to": call.to if call.to is not None else b"",
                "data": call.data,
                "value": call.value,
            }
        )

    def _recent_at(self, sender: str, nonce: int) -> bytes | None:
        with self._recent_lock:
            return self._recent.get((sender.lower(), nonce))

    def _remember(self, sender: str, nonce: int, signed: bytes) -> None:
        with self._recent_lock:
            self._recent[(sender.lower(), nonce)] = signed
            while len(self._recent) > RECENT_KEPT:
                self._recent.pop(next(iter(self._recent)))

    # ------------------------------------------------------------------ wait

    def wait(self, pending: Pending, timeout: float | None = None) -> TxReceipt:
        """Wait for ``pending``'s receipt, sending its same bytes again while a node lost them."""
        try:
            return self._wait_resending(pending.tx_hash, pending.call.tx(pending.sender), pending.raw, timeout)
        except TransactionFailed:
            # Never mined in time: the node may hold a gap at this nonce. Re-read the
            # account's nonce from the node before its next transaction.
            self.nonces.reset(pending.sender)
            raise

    def wait_signed(self, signed: bytes, timeout: float | None = None) -> TxReceipt:
        """:meth:`wait` for a transaction known only by its signed bytes (one a crashed process sent:
        the idempotency store's): the same checks and re-sends, the call read from the bytes."""
        tx_hash = "0x" + keccak(signed).hex()
        return self._wait_resending(tx_hash, call_of(signed), signed, timeout)

    def _wait_resending(self, tx_hash: str, tx: dict[str, Any], signed: bytes, timeout: float | None) -> TxReceipt:
        """Wait; if a node lost the transaction (a crash, a fail-over), send the same bytes again.

        Only ever the same signed bytes: one hash, so at most one transaction on chain. Raises
        :class:`NonceSuperseded` at once when a different transaction took its nonce.

        The first check comes after :data:`RESEND_AFTER` or half the wait, whichever is sooner: a
        wait shorter than :data:`RESEND_AFTER` checks too. Otherwise a caller whose every attempt is
        a new transaction of one account (a gateway fetch records a new access each time) never
        repairs what holds the account's nonces (a lost or held transaction), and each attempt
        queues behind the last until the node mines a block for some other sender. While no node
        answers the check, it is made again every :data:`RECHECK_WHILE_DOWN` seconds.
        """
        limit = remaining = self.receipts.timeout if timeout is None else timeout
        checked = down = False
        while True:
            step = min(RECHECK_WHILE_DOWN if down else RESEND_AFTER, remaining if checked else remaining / 2)
            checked = True
            try:
                return self.receipts.wait(tx_hash, tx, timeout=step)
            except TransactionFailed:
                remaining -= step
                if remaining <= 0:
                    raise not_confirmed(tx_hash, limit) from None  # the whole wait, not its last step
            try:
                if self.rpc.request("eth_getTransactionByHash", [tx_hash]) is None:
                    log.warning("node does not know %s any more; sending the same bytes again", tx_hash)
                    self._deliver(signed, tx_hash, str(tx["from"]))
                elif self.rpc.transaction_count(str(tx["from"])) > tx_nonce(signed):  # listed, its nonce used:
                    # mined (the next receipt wait has it), or a stale entry (Ganache keeps them) superseded
                    self._settle(signed, tx_hash, str(tx["from"]), TransactionFailed(
                        f"{tx_hash} is listed as pending, but nonce {tx_nonce(signed)} is used on chain"))
                else:
                    mined = self._fill_gap(str(tx["from"]), signed)
                    if self.ganache:
                        self._unstrand(str(tx["from"]), signed, tx_hash, mined)
            except NonceSuperseded:
                raise
            except (ChainUnavailable, TransactionFailed) as exc:
                if not down:
                    log.warning("re-sending %s failed: %s", tx_hash, exc)
                down = isinstance(exc, ChainUnavailable)  # look again soon: a restarted node has lost its pool
            else:
                down = False

    @cached_property
    def ganache(self) -> bool:
        """The node is Ganache (its development-chain quirks apply)."""
        try:
            return "ganache" in self.rpc.client_version().lower()
        except (ChainUnavailable, RpcError):
            return False

    def _until_mined(self, sender: str, last: Pending) -> None:
        """On Ganache, return once ``last`` (``sender``'s latest transaction) is mined.

        Ganache 7.9.2's pool (strict instamine) reads an arriving transaction's expected nonce from
        the last saved block when it holds nothing pending of that account. While the account's
        previous transaction is being mined (taken out of the pending heap, its block not yet
        saved), the next one therefore looks one nonce ahead: it is filed in the future queue,
        which only a new transaction at the missing nonce ever drains, and that nonce is used
        already. It and every later nonce of the account then wait for good; ``evm_mine`` does not
        move them (ConsenSys-archive/ganache#4522). About one pair in three sent back to back was
        stranded on a quiet machine. A group sent in one batch is safe (Ganache takes a batch's
        transactions into its pool together), so the account's next group waits for this one's
        last block: the reservation (the account's lock) is held meanwhile, and the receipts'
        shared poller looks. Not while its miner is stopped (a test holding blocks), and at most
        :data:`GANACHE_MINED_WAIT`; :meth:`_unstrand` mends what is stranded all the same."""
        try:
            if self.receipts.seen(last.tx_hash, 0.05) or self.rpc.request("eth_mining") is not True:
                return
            if not self.receipts.seen(last.tx_hash, GANACHE_MINED_WAIT):
                log.warning("nonce %d of %s not mined within %.0fs; sending the next one", last.nonce, sender,
                            GANACHE_MINED_WAIT)
        except (ChainUnavailable, RpcError) as exc:  # sent: its waiter settles it
            log.warning("could not see nonce %d of %s mined: %s", last.nonce, sender, exc)

    def _unstrand(self, sender: str, signed: bytes, tx_hash: str, mined: int) -> None:
        """Ganache holds our transaction unmined: send its same bytes again when it sits in the
        future queue at the account's next nonce (stranded, see :meth:`_until_mined`: another
        process sent the previous one), where they land among the pending; otherwise ask it to mine
        a block (``evm_mine``), while its miner runs (a test that stopped it keeps its blocks).
        Nothing is signed again: one hash, and the nonce admits it once."""
        if tx_nonce(signed) == mined:
            queued = self.rpc.request("txpool_content").get("queued", {})
            held = {a.lower(): txs for a, txs in queued.items()}.get(sender.lower(), {})
            if str(mined) in held and str(held[str(mined)].get("hash", "")).lower() == tx_hash.lower():
                log.warning("Ganache stranded %s in its future queue at the account's next nonce; "
                            "sending the same bytes again", tx_hash)
                self._send_raw(signed, tx_hash)
                return
        if self.rpc.request("eth_mining") is not True:
            return
        log.warning("Ganache holds %s unmined while mining; asking it to mine a block", tx_hash)
        self.rpc.request("evm_mine", [])

    def _fill_gap(self, sender: str, signed: bytes) -> int:
        """Our transaction waits behind a nonce the node never got (a request lost under load):
        send the same bytes we signed for the missing nonces again (never a new transaction).
        Returns the account's count of mined transactions, as read."""
        nonce = tx_nonce(signed)
        mined = self.rpc.transaction_count(sender)
        for n in range(mined, nonce):
            raw = self._recent.get((sender.lower(), n))
            if raw is None:
                continue
            h = "0x" + keccak(raw).hex()
            if self.rpc.request("eth_getTransactionByHash", [h]) is None:
                log.warning("nonce %d of %s never reached the node; sending %s again", n, sender, h)
                self._send_raw(raw, h)
        return mined

    # ------------------------------------------------------------------ status

    def status(self, tx_hash: str) -> TxStatus:
        """Where ``tx_hash`` is now, against the confirmations the ledger waits for."""
        return status(self.rpc, self.receipts, tx_hash)

