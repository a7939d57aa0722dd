"""The event index on eth-tester's in-process chain (and an in-memory JSON-RPC node
for the 100,000-event benchmark).

The tests of the store (writes, resume, reorg rollback, the schema and spelling checks, the reads
the API uses) run on SQLite and on PostgreSQL (the suite's throw-away server, tests/postgresql.py)
through the ``db`` fixture; the SQL that differs between the two (JSON argument filters, CHECK
constraints, key-paged reads, the bulk insert) runs on both."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from eth_abi import encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3._utils.events import get_event_data
from web3.exceptions import ProviderConnectionError, Web3RPCError
from web3.providers.base import JSONBaseProvider
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from api.problems import status_of
from ledger import artifacts
from ledger.abi import ContractSpec, EventSpec, canonical_json, decode_log_hex
from ledger.errors import ChainMismatch, ChainUnavailable, IndexUnavailable, RpcError, ValidationFailed
from ledger.index import UNKNOWN_EVENT, Follower, IndexChainMismatch, Indexer, SyncProgress
from ledger.testing.evm import Chain, Council, deploy_registry, roles_mask
from tests.postgresql import DAMAGES, Db, PostgresServer, damage_index

REGISTRY = "MembershipRegistry"


# -- fixtures -------------------------------------------------------------------


class Web3Node:
    """A :class:`ledger.logs.Node` over any web3 provider: the in-process chain (eth-tester) or the
    node in memory below. Bulk reads go straight to a JSON provider, without web3's formatting
    (which costs more than the fetch for 100,000 logs); other providers answer through
    web3's middleware (formatted values, which the scanner's consumers read too)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _where(self) -> str:
        provider = self.w3.provider
        return str(getattr(provider, "endpoint_uri", None) or type(provider).__name__)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        provider = self.w3.provider
        try:
            if not isinstance(provider, JSONBaseProvider):
                return self.w3.manager.request_blocking(RPCEndpoint(method), list(params or []))
            response = provider.make_request(RPCEndpoint(method), list(params or []))
        except Web3RPCError as exc:
            raise RpcError(str(exc.message or exc), None, 0) from exc
        except (OSError, TimeoutError, ProviderConnectionError) as exc:
            raise ChainUnavailable(self._where(), f"{method}: {exc}") from exc
        error = response.get("error")
        if error is not None:
            err = error if isinstance(error, dict) else {"message": str(error)}
            raise RpcError(str(err.get("message", err)), err.get("data"), int(err.get("code", 0)))
        return response.get("result")

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        provider = self.w3.provider
        if len(calls) > 1 and isinstance(provider, JSONBaseProvider):
            try:
                answers = provider.make_batch_request([(RPCEndpoint(m), p) for m, p in calls])
                if isinstance(answers, list) and len(answers) == len(calls):
                    return [a.get("result") if a.get("error") is None else None for a in answers]
            except (OSError, TimeoutError, ProviderConnectionError) as exc:
                raise ChainUnavailable(self._where(), f"batch of {len(calls)}: {exc}") from exc
            except (Web3RPCError, NotImplementedError, ValueError, TypeError):
                pass  # asked one by one below
        out: list[Any] = []
        for m, p in calls:
            try:
                out.append(self.rpc(m, p))
            except RpcError:
                out.append(None)
        return out



def enode(n: int) -> str:
    return f"{n:02x}" * 64


class Ledger:
    """A fresh chain with a bootstrapped registry and helpers that emit events."""

    def __init__(self, extra_data: bytes | None = None) -> None:
        self.chain = Chain()
        if extra_data is not None:  # another genesis: another chain with the same chain id
            genesis = PyEVMBackend.generate_genesis_params(overrides={"extra_data": extra_data})
            self.chain.tester = EthereumTester(PyEVMBackend(genesis_parameters=genesis))
            self.chain.w3 = Web3(EthereumTesterProvider(self.chain.tester))
            self.chain.accounts = list(self.chain.w3.eth.accounts)
        c = self.chain
        self.seats = c.accounts[1:4]
        self.registry = deploy_registry(c, self.seats)
        self.council = Council(c, self.registry, self.seats)
        self.deploy_block = int(c.w3.eth.block_number)
        self._n = 0
        self.opened: list[Indexer] = []

    @property
    def w3(self) -> Web3:
        return self.chain.w3

    @property
    def contracts(self) -> dict[str, str]:
        return {REGISTRY: self.registry.address}

    def activity(self, members: int = 2, tag: str = "m") -> None:
        """Admit members and touch every kind of argument (bytes32, string, bytes)."""
        for _ in range(members):
            self._n += 1
            account = self.chain.new_account(funded=False)
            member = self.council.admit(
                f"{tag}{self._n}", "Enterprise", roles_mask("Contributor"), account
            )
            self.council.enact("SetDataKey", member, bytes([self._n]) * 32)
            self.council.enact("AddNode", member, enode(self._n), "10.0.0.1", 30303)

    def indexer(self, db: Path | str, **kw: Any) -> Indexer:
        ix = Indexer(Web3Node(self.w3), self.contracts, db, **kw)
        self.opened.append(ix)
        return ix


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    led = Ledger()
    yield led
    for ix in led.opened:  # a PostgreSQL engine's pooled connections, released now
        ix.close()


def dump(ix: Indexer, with_id: bool = True) -> list[tuple[Any, ...]]:
    rows = ix.rows(limit=10_000)
    return [
        (
            *((r.id,) if with_id else ()),
            r.block_number,
            r.block_hash,
            r.block_time,
            r.tx_hash,
            r.tx_index,
            r.log_index,
            r.contract,
            r.address,
            r.event,
            r.args_json,
        )
        for r in rows
    ]


def web3_events(ledger: Ledger) -> list[tuple[str, int, str, dict[str, Any]]]:
    """What web3 itself decodes from the chain: (tx, log index, event, args)."""
    abi_by_topic = {
        EventSpec.from_abi(REGISTRY, e).topic0: e
        for e in artifacts.abi(REGISTRY)
        if e["type"] == "event"
    }
    logs = ledger.w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "address": ledger.registry.address}
    )
    out = []
    for lg in logs:
        data = get_event_data(ledger.w3.codec, abi_by_topic[bytes(lg["topics"][0])], lg)
        out.append(
            (
                "0x" + bytes(lg["transactionHash"]).hex(),
                lg["logIndex"],
                data["event"],
                dict(data["args"]),
            )
        )
    return out


# -- indexing -------------------------------------------------------------------


def test_sync_decodes_every_event_as_web3_does(ledger: Ledger, db: Db) -> None:
    ledger.activity(3)
    ix = ledger.indexer(db.new(), batch_blocks=7)
    result = ix.sync()

    head = ledger.w3.eth.block_number
    assert result.last_block == head and result.target == head and result.complete
    assert result.from_block == 0 and result.batches == -(-(head + 1) // 7)
    expected = web3_events(ledger)
    rows = ix.rows(limit=10_000)
    assert result.events == len(expected) == len(rows) == ix.count() > 40
    for row, (tx, log_index, event, args) in zip(rows, expected, strict=True):
        assert (row.tx_hash, row.log_index, row.event) == (tx, log_index, event)
        assert ix.decode_args(row) == args
        block = ledger.w3.eth.get_block(row.block_number)
        assert row.block_hash == "0x" + bytes(block["hash"]).hex()
        assert row.block_time == block["timestamp"]
        assert row.address == ledger.registry.address.lower() and row.contract == REGISTRY
    assert ix.lag() == 0 and ix.last_block() == head
    again = ix.sync()  # nothing new
    assert (again.events, again.batches, again.from_block) == (0, 0, None)


def test_args_are_canonical_json(ledger: Ledger, db: Db) -> None:
    ledger.activity(1)
    ix = ledger.indexer(db.new())
    ix.sync()
    for row in ix.rows(limit=10_000):
        assert row.args_json == canonical_json(row.args)
        assert list(row.args) == sorted(row.args)
    created = ix.rows(REGISTRY, "ProposalCreated", limit=1)[0]
    # ints are decimal strings
    assert created.args["proposalId"] == "1" and created.args["kind"] == "0"
    assert (
        created.args["data"].startswith("0x")
        and created.args["data"] == created.args["data"].lower()
    )
    assert created.args["proposer"] == ledger.seats[0]  # EIP-55
    key = ix.rows(REGISTRY, "DataKeySet", limit=1)[0]
    assert key.args["newKey"] == "0x" + "01" * 32 and key.args["oldKey"] == "0x" + "00" * 32
    node = ix.rows(REGISTRY, "NodeAdded", limit=1)[0]
    assert node.args["enodeId"] == enode(1) and node.args["port"] == "30303"
    admitted = ix.rows(REGISTRY, "MemberAdmitted", args={"name": "街道办"})
    assert len(admitted) == 1 and admitted[0].args["memberId"] == "1"


def test_resume_after_a_stop_gives_the_same_rows_as_one_pass(ledger: Ledger, db: Db) -> None:
    ledger.activity(3)
    one = ledger.indexer(db.new("one"), batch_blocks=5)
    one.sync()

    class Stop(Exception):
        pass

    stopped = []

    def stop_after_two(p: SyncProgress) -> None:
        if p.to_block >= 8:  # ranges 0-3, 4-8 (the first range is 4 blocks, then batch_blocks)
            stopped.append(p.to_block)
            raise Stop

    two = db.new("two")
    first = ledger.indexer(two, batch_blocks=5)
    with pytest.raises(Stop):
        first.sync(stop_after_two)
    assert stopped == [8]  # the range fetched ahead (9-13) was dropped, not written
    assert first.last_block() == 8
    assert first.count() == one.count_events(to_block=8)
    # a new process picks up where the stopped one left off, with other batch sizes
    second = ledger.indexer(two, batch_blocks=3)
    result = second.sync()
    assert result.from_block == 9
    assert dump(second) == dump(one)


def test_a_batch_that_fails_mid_write_leaves_nothing_of_it(
    ledger: Ledger, db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.activity(2)
    ix = ledger.indexer(db.new(), batch_blocks=4)
    real = ix._set_meta
    batches = {"n": 0}

    def crash_on_third_batch(conn: Any, values: Any) -> None:
        if "last_block" in values:
            batches["n"] += 1
            if batches["n"] == 3:  # after the events insert, inside the same transaction
                raise RuntimeError("power cut")
        real(conn, values)

    monkeypatch.setattr(ix, "_set_meta", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        ix.sync()
    assert ix.last_block() == 7
    assert ix.count() == ix.count_events(to_block=7)
    assert ix.health().ok
    monkeypatch.setattr(ix, "_set_meta", real)
    ix.sync()
    fresh = ledger.indexer(db.new("fresh"))
    fresh.sync()
    # ids are a surrogate key in insertion order: PostgreSQL's sequence skips the ids the failed
    # batch took (SQLite gives them again), so the rows are compared without them
    assert dump(ix, with_id=False) == dump(fresh, with_id=False)
    ids = [r.id for r in ix.rows(limit=10_000)]
    assert ids == sorted(set(ids))


def test_rebuild_gives_identical_rows(ledger: Ledger, db: Db) -> None:
    ix = ledger.indexer(db.new(), batch_blocks=3)
    for _ in range(3):  # incremental: three syncs as blocks arrive
        ledger.activity(1)
        ix.sync()
    before = dump(ix)
    result = ix.rebuild()
    assert result.from_block == 0 and result.events == len(before)
    assert dump(ix) == before


def test_start_block_and_confirmations(ledger: Ledger, db: Db) -> None:
    ledger.activity(2)
    head = ledger.w3.eth.block_number
    ix = ledger.indexer(db.new(), start_block=ledger.deploy_block, confirmations=3)
    result = ix.sync()
    assert result.from_block == ledger.deploy_block and result.last_block == head - 3
    assert ix.lag() == 3
    assert max(r.block_number for r in ix.rows(limit=10_000)) <= head - 3
    assert ix.sync(to_block=head - 5).events == 0  # to_block below the indexed block: nothing


# -- reorgs ----------------------------------------------------------------------


@pytest.mark.parametrize("new_branch_members", [1, 3], ids=["shorter-fork", "longer-fork"])
def test_a_real_fork_is_rolled_back_and_reindexed(ledger: Ledger, db: Db, new_branch_members: int) -> None:
    ledger.activity(1)
    fork_point = ledger.w3.eth.block_number
    snap = ledger.chain.tester.take_snapshot()
    ledger.activity(2, tag="old")
    ix = ledger.indexer(db.new(), batch_blocks=4)
    ix.sync()
    assert ix.count_events(REGISTRY, "MemberAdmitted", args={"name": "old3"}) == 1
    old_last = ix.last_block()

    ledger.chain.tester.revert_to_snapshot(snap)  # the same heights get other blocks
    ledger.activity(new_branch_members, tag="new")
    result = ix.sync()

    assert result.reorg_ancestor is not None and result.reorg_ancestor <= fork_point
    assert result.removed_events > 0
    names = [r.args["name"] for r in ix.rows(REGISTRY, "MemberAdmitted")]
    assert not any(n.startswith("old") for n in names)
    assert sum(n.startswith("new") for n in names) == new_branch_members
    assert ix.last_block() == ledger.w3.eth.block_number != old_last
    fresh = ledger.indexer(db.new("fresh"))
    fresh.sync()
    assert dump(ix, with_id=False) == dump(fresh, with_id=False)
    assert ix.health().ok


def test_a_wrong_stored_block_hash_is_treated_as_a_reorg(ledger: Ledger, db: Db) -> None:
    ledger.activity(2)
    where = db.new()
    ix = ledger.indexer(where, batch_blocks=5)
    ix.sync()
    before = dump(ix, with_id=False)
    last = ix.last_block()
    assert last is not None
    stored = [n for (n,) in db.sql(where, "SELECT number FROM blocks ORDER BY number DESC")]
    db.sql(where, "UPDATE blocks SET hash = :h WHERE number = :n", h="0x" + "ee" * 32, n=last)
    result = ix.sync()
    assert result.reorg_ancestor == stored[1]  # the next stored block still matched
    assert dump(ix, with_id=False) == before
    assert ix.last_block() == last


# -- guards ----------------------------------------------------------------------


def test_an_index_of_another_chain_is_refused(ledger: Ledger, db: Db) -> None:
    where = db.new()
    ledger.indexer(where).sync()
    other = Ledger(extra_data=b"another city")
    assert other.w3.eth.get_block(0)["hash"] != ledger.w3.eth.get_block(0)["hash"]
    ix = Indexer(Web3Node(other.w3), {REGISTRY: ledger.registry.address}, where)
    ledger.opened.append(ix)
    with pytest.raises(IndexChainMismatch) as info:
        ix.sync()
    assert isinstance(info.value, ChainMismatch) and status_of(info.value) == 503
    assert "genesis hash" in str(info.value)
    assert ix.rebuild().last_block == other.w3.eth.block_number  # rebuild switches chains

    db.sql(where, "UPDATE meta SET value = '1' WHERE key = 'chain_id'")
    with pytest.raises(IndexChainMismatch, match="chain id"):
        ix.sync()


def test_an_index_of_other_contracts_is_refused_until_rebuilt(ledger: Ledger, db: Db) -> None:
    where = db.new()
    ledger.indexer(where).sync()
    moved = Indexer(Web3Node(ledger.w3), {REGISTRY: ledger.chain.accounts[5]}, where)
    ledger.opened.append(moved)
    with pytest.raises(IndexUnavailable, match="other contracts"):
        moved.sync()
    assert not moved.health().ok
    moved.rebuild()
    assert moved.health().ok and moved.count() == 0
    later = Indexer(Web3Node(ledger.w3), {REGISTRY: ledger.chain.accounts[5]}, where, start_block=3)
    ledger.opened.append(later)
    with pytest.raises(IndexUnavailable, match="starts at block"):
        later.sync()


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_a_lost_sqlite_file_is_reported_and_rebuild_restores_it(
    ledger: Ledger, tmp_path: Path, damage: str
) -> None:
    ledger.activity(1)
    db = tmp_path / "data" / "i.sqlite"
    ix = ledger.indexer(db)
    ix.sync()
    rows = dump(ix)
    assert ix.health().ok and ix.health(deep=True).ok

    if damage == "delete":
        db.unlink()
    elif damage == "truncate":
        db.write_bytes(b"")
    else:
        db.write_bytes(b"this is not a database" * 1000)

    health = ix.health()
    assert not health.ok and health.reason and str(db) in health.reason
    with pytest.raises(IndexUnavailable):
        ix.rows()
    with pytest.raises(IndexUnavailable):
        ix.count()
    with pytest.raises(IndexUnavailable):
        ix.sync()
    assert not db.exists() or damage != "delete"  # never silently recreated

    ix.rebuild()
    assert ix.health(deep=True).ok
    assert dump(ix) == rows


def test_missing_tables_and_bad_meta_are_reported(ledger: Ledger, db: Db) -> None:
    where = db.new()
    ix = ledger.indexer(where)
    ix.sync()
    db.sql(where, "DELETE FROM blocks")
    assert "no hash kept" in (ix.health().reason or "")
    db.sql(where, "DROP TABLE blocks")
    assert "lacks tables" in (ix.health().reason or "")
    ix.rebuild()
    assert ix.health().ok


def test_an_index_emptied_under_its_process_is_lost_not_new(ledger: Ledger, db: Db) -> None:
    """Every row deleted under a running indexer (on PostgreSQL, the counterpart of a SQLite file
    truncated to nothing: an operator's TRUNCATE, an empty dump restored) is reported and refused
    as a lost index, rebuilt by the follower, not read as a new one that is healthy and empty."""
    from ledger.index.reads import VERSION_TTL

    ledger.activity(1)
    where = db.new()
    ix = ledger.indexer(where)
    ix.sync()
    before = dump(ix, with_id=False)
    assert before and ix.health().ok and ix.version() is not None
    for table in ("events", "blocks", "meta"):
        db.sql(where, f"DELETE FROM {table}")
    health = ix.health()
    assert not health.ok and "emptied" in (health.reason or ""), health
    time.sleep(VERSION_TTL)  # the cached answers' version is read again: refused, not None
    with pytest.raises(IndexUnavailable, match="emptied"):
        ix.version()
    assert Follower(ix).sync_once() is not None  # the follower's round rebuilds it
    assert ix.health().ok and dump(ix, with_id=False) == before
    fresh = ledger.indexer(db.new("fresh"))  # a new index, never synced: empty and healthy
    assert fresh.health().ok and fresh.version() is None


_COLUMNS = "block_number, block_hash, block_time, tx_hash, tx_index, log_index, contract, address, event, args"


def test_hashes_and_addresses_have_one_spelling(ledger: Ledger, db: Db) -> None:
    """Stored lower-case, and the store refuses any other spelling: the same transaction in upper
    case cannot pass the unique (tx_hash, log_index) key as a second row."""
    ledger.activity(1)
    where = db.new()
    ix = ledger.indexer(where)
    ix.sync()
    rows = ix.rows(limit=10_000)
    assert rows and all(
        r.tx_hash == r.tx_hash.lower() and r.block_hash == r.block_hash.lower() and r.address == r.address.lower()
        for r in rows
    )
    row = list(db.sql(where, f"SELECT {_COLUMNS} FROM events LIMIT 1")[0])
    names = _COLUMNS.split(", ")
    for column, spell in (
        (3, lambda h: "0x" + h[2:].upper()),  # tx_hash
        (1, lambda h: "0x" + h[2:].upper()),  # block_hash
        (7, lambda a: "0x" + a[2:].upper()),  # address
        (3, lambda h: h[2:] + "00"),  # tx_hash without 0x
    ):
        bad = list(row)
        bad[column] = spell(bad[column])
        # "CHECK constraint failed" (SQLite), "violates check constraint" (PostgreSQL)
        with pytest.raises(sa.exc.IntegrityError, match=r"(?i)check constraint"):
            db.sql(where, f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join(':' + n for n in names)})",
                   **dict(zip(names, bad, strict=True)))
    assert ix.count() == len(rows)


def test_an_index_of_the_previous_schema_is_rebuilt(ledger: Ledger, db: Db) -> None:
    """Schema 1 had no spelling constraints (rows in upper case may be in it): refused until rebuilt."""
    ledger.activity(1)
    where = db.new()
    ix = ledger.indexer(where)
    ix.sync()
    db.sql(where, "UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    health = ix.health()
    assert not health.ok and "schema 1" in (health.reason or "")
    with pytest.raises(IndexUnavailable, match="rebuild"):
        ix.sync()
    ix.rebuild()
    assert ix.health().ok and ix.count() > 0


def test_reads_need_only_the_database(ledger: Ledger, db: Db) -> None:
    ledger.activity(1)
    where = db.new()
    ledger.indexer(where).sync()
    down = Indexer(
        Web3Node(Web3(HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 2}))),
        ledger.contracts,
        where,
    )
    ledger.opened.append(down)
    assert down.count() > 0 and down.health().ok
    with pytest.raises(ChainUnavailable):
        down.sync()
    with pytest.raises(ChainUnavailable):
        down.lag()


# -- queries ---------------------------------------------------------------------


def test_queries_filter_order_and_page(ledger: Ledger, db: Db) -> None:
    ledger.activity(3)
    ix = ledger.indexer(db.new())
    ix.sync()
    everything = ix.rows(limit=10_000)

    admitted = ix.rows(REGISTRY, "MemberAdmitted")
    assert [r.args["memberId"] for r in admitted] == ["1", "2", "3", "4", "5", "6"]
    assert ix.count_events(event="MemberAdmitted") == 6
    assert ix.rows(REGISTRY, "MemberAdmitted", args={"memberId": 5})[0].args["name"] == "m2"
    assert ix.count_events(event="MemberAdmitted", args={"memberId": "5"}) == 1
    account = admitted[4].args["account"]
    for spelling in (account, account.lower(), bytes.fromhex(account[2:])):
        assert [r.id for r in ix.rows(event="MemberAdmitted", args={"account": spelling})] == [
            admitted[4].id
        ]
    # without an event name the value is still canonicalised
    assert ix.count_events(args={"account": account.lower()}) >= 2  # MemberAdmitted + AccountAdded
    assert ix.count_events(event="DataKeySet", args={"newKey": bytes([2]) * 32}) == 1
    assert (
        ix.count_events(event="DataKeySet", args={"newKey": "0x" + "02" * 32, "memberId": 4}) == 0
    )
    assert ix.count_events(event="MemberAdmitted", args={"memberId": 99}) == 0

    mid = everything[len(everything) // 2].block_number
    ranged = ix.rows(from_block=mid, to_block=mid + 2, limit=10_000)
    assert ranged == [r for r in everything if mid <= r.block_number <= mid + 2]
    assert ix.count_events(from_block=mid, to_block=mid + 2) == len(ranged)

    desc = ix.rows(order="desc", limit=10_000)
    assert desc == list(reversed(everything))
    page = ix.rows(limit=5, offset=3)
    assert page == everything[3:8]
    tx = everything[-1].tx_hash
    assert ix.rows(tx_hash=tx.upper().replace("0X", "0x")) == [
        r for r in everything if r.tx_hash == tx
    ]
    assert list(ix.iter_rows(page=7)) == everything
    assert ix.rows("NoSuchContract") == [] and ix.count_events(event="Nope") == 0

    # any_of: several events, each with its own argument filters, in one ordered query
    pairs = [("MemberAdmitted", {"memberId": 5}), ("DataKeySet", {"memberId": 4})]
    both = ix.rows(REGISTRY, any_of=pairs, order="desc")
    assert both == [
        r for r in desc
        if (r.event, r.args.get("memberId")) in (("MemberAdmitted", "5"), ("DataKeySet", "4"))
    ]
    assert len(both) == 2 == ix.count_events(REGISTRY, any_of=pairs)
    # block-time bounds, and key-paged iteration with filters
    t = everything[len(everything) // 2].block_time
    assert ix.rows(from_time=t, limit=10_000) == [r for r in everything if r.block_time >= t]
    assert ix.count_events(to_time=t) == len([r for r in everything if r.block_time <= t])
    assert list(ix.iter_rows(2, REGISTRY, "MemberAdmitted")) == ix.rows(
        REGISTRY, "MemberAdmitted"
    )
    with pytest.raises(ValidationFailed, match="any_of"):
        ix.rows(any_of=[])
    # the version: the last indexed block and its hash
    last = ix.last_block()
    assert last is not None
    assert ix.version() == (last, "0x" + bytes(ledger.w3.eth.get_block(last)["hash"]).hex())


def test_the_version_shows_this_process_writes_at_once_and_another_writers_within_its_ttl(
    ledger: Ledger, db: Db
) -> None:
    """Cached answers ask the version on every request, so one reading is reused briefly: a
    sync through this indexer shows at once, one by another writer (a follower in another
    process) within ``VERSION_TTL``."""
    from ledger.index.reads import VERSION_TTL

    where = db.new()
    ix, elsewhere = ledger.indexer(where), ledger.indexer(where)
    ledger.activity(1)
    ix.sync()
    first = ix.version()
    ledger.activity(1)
    ix.sync()
    mine = ix.version()
    assert mine is not None and first is not None and mine[0] > first[0]
    ledger.activity(1)
    elsewhere.sync()
    theirs = elsewhere.version()
    assert theirs is not None and theirs[0] > mine[0]
    time.sleep(VERSION_TTL)
    assert ix.version() == theirs


def test_a_nul_in_an_on_chain_string_breaks_no_filter(ledger: Ledger, db: Db) -> None:
    """PostgreSQL's text cannot hold NUL: one member named with it must not break the filters on
    the event (by id, by name, and names around it that merely look like the escape)."""
    names = ["nul\x00name", "\x00\x00", "back\\u0000slash", "back\\\x00", "plain"]
    for name in names:
        account = ledger.chain.new_account(funded=False)
        ledger.council.admit(name, "Enterprise", roles_mask("Contributor"), account)
    ix = ledger.indexer(db.new())
    ix.sync()
    admitted = ix.rows(REGISTRY, "MemberAdmitted", limit=100)
    assert [r.args["name"] for r in admitted][-5:] == names
    for row in admitted[-5:]:
        found = ix.rows(REGISTRY, "MemberAdmitted", args={"memberId": row.args["memberId"]})
        assert [r.args["name"] for r in found] == [row.args["name"]]
        if "\x00" not in row.args["name"]:  # (SQLite's json_extract cuts a text at its NUL)
            assert [r.id for r in ix.rows(REGISTRY, "MemberAdmitted", args={"name": row.args["name"]})] == [row.id]
    # PostgreSQL compares whole values; SQLite's json_extract gives "nul" for "nul\x00name", so a
    # filter on a string cut at its NUL matches there too (only ever a string argument's filter)
    expected = 0 if db.kind == "postgresql" else 1
    assert ix.count_events(REGISTRY, "MemberAdmitted", args={"name": "nul"}) == expected


def test_query_arguments_are_validated(ledger: Ledger, db: Db) -> None:
    ix = ledger.indexer(db.new())
    with pytest.raises(ValidationFailed, match="limit"):
        ix.rows(limit=0)
    with pytest.raises(ValidationFailed, match="limit"):
        ix.rows(limit=10_001)
    with pytest.raises(ValidationFailed, match="offset"):
        ix.rows(offset=-1)
    with pytest.raises(ValidationFailed, match="order"):
        ix.rows(order="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match=r"args\.x'"):
        ix.rows(args={"x'); DROP TABLE events; --": 1})
    with pytest.raises(ValidationFailed, match="scalar"):
        ix.rows(args={"memberId": [1, 2]})
    with pytest.raises(ValidationFailed):
        ix.rows(event="MemberAdmitted", args={"memberId": "not a number"})
    with pytest.raises(ValidationFailed, match="batch_blocks"):
        ledger.indexer(db.new("j"), batch_blocks=0)


def test_logs_no_abi_knows_are_kept_raw(ledger: Ledger, db: Db) -> None:
    abi = [e for e in artifacts.abi(REGISTRY) if e.get("name") != "AccountAdded"]
    ix = Indexer(Web3Node(ledger.w3), {REGISTRY: (ledger.registry.address, abi)}, db.new())
    ledger.opened.append(ix)
    ix.sync()
    unknown = ix.rows(event=UNKNOWN_EVENT)
    assert len(unknown) == 3  # one AccountAdded per council seat
    assert set(unknown[0].args) == {"data", "topics"} and len(unknown[0].args["topics"]) == 3
    assert ix.decode_args(unknown[0]) == unknown[0].args


# -- follow ----------------------------------------------------------------------


def test_follow_keeps_up_and_stops(ledger: Ledger, db: Db) -> None:
    ix = ledger.indexer(db.new())
    stop = threading.Event()
    thread = threading.Thread(target=Follower(ix, poll_interval=0.02).run, args=(stop,), daemon=True)
    thread.start()
    try:
        ledger.activity(1)
        head = ledger.w3.eth.block_number
        deadline = time.monotonic() + 30
        while (ix.last_block() or -1) < head and time.monotonic() < deadline:
            stop.wait(0.02)
        assert ix.last_block() == head
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_follow_logs_chain_outages_and_backs_off(
    ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ix = ledger.indexer(tmp_path / "i.sqlite")
    stop = threading.Event()
    calls: list[float] = []
    waits: list[float] = []

    def flaky_sync(*_a: Any, **_k: Any) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise ChainUnavailable("http://node", "connection refused")
        stop.set()

    real_wait = stop.wait

    def record_wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0.0)
        return real_wait(0)

    monkeypatch.setattr(ix, "sync", flaky_sync)
    monkeypatch.setattr(stop, "wait", record_wait)
    with caplog.at_level(logging.WARNING, logger="ledger.index"):
        Follower(ix, poll_interval=0.5, max_backoff=1.5).run(stop)
    assert len(calls) == 4
    assert waits == [1.0, 1.5, 1.5, 0.5]  # doubling, capped, back to the poll interval
    assert sum("unavailable" in r.getMessage() for r in caplog.records) == 3


class CountedNode(Web3Node):
    """A :class:`Web3Node` that records the method of every call it makes (batches unrolled)."""

    def __init__(self, w3: Web3) -> None:
        super().__init__(w3)
        self.calls: list[str] = []

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        self.calls.append(method)
        return super().rpc(method, params)

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        if len(calls) > 1 and isinstance(self.w3.provider, JSONBaseProvider):
            self.calls.extend(m for m, _ in calls)
        return super().rpc_batch(calls)


def counted_follower(ledger: Ledger, db: Path | str) -> tuple[Follower, CountedNode, list[str], list[int]]:
    """A follower over its own index, after one full round: its node's calls, its checks, the
    database connections opened (SQLAlchemy's ``connect`` events)."""
    node = CountedNode(ledger.w3)
    ix = Indexer(node, ledger.contracts, db)
    ledger.opened.append(ix)
    checks: list[str] = []
    follower = Follower(ix, check=lambda: checks.append("check"))
    connects: list[int] = []
    sa.event.listen(ix._store.engine, "connect", lambda *_: connects.append(1))
    assert follower.round() and ix.last_block() == ledger.w3.eth.block_number
    for seen in (node.calls, checks, connects):
        seen.clear()
    return follower, node, checks, connects


def test_an_idle_follower_round_is_one_rpc_and_opens_no_database(ledger: Ledger, tmp_path: Path) -> None:
    ledger.activity(1)
    follower, node, checks, connects = counted_follower(ledger, tmp_path / "i.sqlite")
    for _ in range(3):
        assert not follower.round()
    assert node.calls == ["eth_getBlockByNumber"] * 3 and checks == [] and connects == []
    ledger.activity(1)  # a new block: a full round (the check, the health, a sync)
    assert follower.round() and checks == ["check"] and connects
    assert follower.index.last_block() == ledger.w3.eth.block_number
    node.calls.clear()
    assert not follower.round() and node.calls == ["eth_getBlockByNumber"]
    follower.full_every = 0  # past full_every: a full round though nothing moved
    assert follower.round() and checks == ["check", "check"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_an_index_damaged_between_idle_rounds_is_rebuilt_at_the_next_full_one(
    ledger: Ledger, db: Db, damage: str
) -> None:
    """A SQLite file's ``stat`` shows at the next round; a server database is not opened by an idle
    round, so its damage shows at the next full one (``full_every`` after the last, or a new block)."""
    ledger.activity(2)
    where = db.new()
    follower, _, checks, _ = counted_follower(ledger, where)
    before = dump(follower.index, with_id=False)
    damage_index(where, damage)
    if db.kind == "postgresql":
        assert not follower.round() and checks == []  # idle: nothing moved that it watches
        follower.full_every = 0
    assert follower.round() and checks == ["check"]
    assert follower.index.health().ok and dump(follower.index, with_id=False) == before


def test_a_reorg_to_the_same_height_is_a_full_round(ledger: Ledger, db: Db) -> None:
    """Same height, other blocks: the head's hash differs, so the round syncs and rolls back."""
    snap = ledger.chain.tester.take_snapshot()
    ledger.activity(1, tag="old")
    follower, _, checks, _ = counted_follower(ledger, db.new())
    height = ledger.w3.eth.block_number
    ledger.chain.tester.revert_to_snapshot(snap)
    ledger.activity(1, tag="new")
    assert ledger.w3.eth.block_number == height
    assert follower.round() and checks == ["check"]
    names = [r.args["name"] for r in follower.index.rows(REGISTRY, "MemberAdmitted")]
    assert not any(n.startswith("old") for n in names) and any(n.startswith("new") for n in names)
    fresh = ledger.indexer(db.new("fresh"))
    fresh.sync()
    assert dump(follower.index, with_id=False) == dump(fresh, with_id=False)


def test_a_chain_back_at_the_head_a_round_began_with_is_a_full_round(ledger: Ledger, db: Db) -> None:
    """The chain moves between a round's head and its sync (the index gets blocks past that head),
    then goes back to that very head: the next round must not take the old head for quiet."""
    follower, _, checks, _ = counted_follower(ledger, db.new())

    def check_then_mine() -> None:
        checks.append("check")
        ledger.activity(1, tag="gone")

    follower._check = check_then_mine
    follower.full_every = 3600
    ledger.activity(1, tag="moved")  # a new head: a full round; its check mines past it before the sync
    snap = ledger.chain.tester.take_snapshot()
    assert follower.round()
    assert any(r.args["name"].startswith("gone") for r in follower.index.rows(REGISTRY, "MemberAdmitted"))
    ledger.chain.tester.revert_to_snapshot(snap)  # back at the head the round began with
    follower._check = functools.partial(checks.append, "check")
    assert follower.round() and checks == ["check", "check"]
    names = [r.args["name"] for r in follower.index.rows(REGISTRY, "MemberAdmitted")]
    assert not any(n.startswith("gone") for n in names)
    fresh = ledger.indexer(db.new("fresh"))
    fresh.sync()
    assert dump(follower.index, with_id=False) == dump(fresh, with_id=False)


# -- decoding and speed -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    member=st.integers(0, 2**64 - 1),
    name=st.text(max_size=80),
    kind=st.integers(0, 255),
    roles=st.integers(0, 2**16 - 1),
    account=st.binary(min_size=20, max_size=20),
    data=st.binary(max_size=300),
    expires=st.integers(0, 2**48 - 1),
)
def test_fast_decoder_agrees_with_web3(
    member: int, name: str, kind: int, roles: int, account: bytes, data: bytes, expires: int
) -> None:
    abi = {e["name"]: e for e in artifacts.abi(REGISTRY) if e["type"] == "event"}
    w3 = Web3()
    cases = [
        (
            "MemberAdmitted",
            [member],
            ["string", "uint8", "uint16", "address"],
            [name, kind, roles, account],
        ),
        (
            "ProposalCreated",
            [member, 7],
            ["address", "uint8", "bytes", "uint48"],
            [account, kind, data, expires],
        ),
    ]
    for event, indexed, types, values in cases:
        spec = EventSpec.from_abi(REGISTRY, abi[event])
        topics = [spec.topic0, *(v.to_bytes(32, "big") for v in indexed)]
        blob = encode(types, values)
        log = {
            "topics": topics,
            "data": blob,
            "logIndex": 0,
            "transactionIndex": 0,
            "transactionHash": b"\0" * 32,
            "address": "0x" + "11" * 20,
            "blockHash": b"\0" * 32,
            "blockNumber": 1,
        }
        expected = dict(get_event_data(w3.codec, abi[event], log)["args"])
        assert spec.to_python(spec.decode(topics, blob)) == expected
        # the indexer's path, from JSON-RPC hex straight to the stored text: the same text
        contract = ContractSpec.from_abi(REGISTRY, "0x" + "11" * 20, [abi[event]])
        hex_topics = ["0x" + t.hex() for t in topics]
        assert decode_log_hex(contract, hex_topics, "0x" + blob.hex()) == (
            event,
            canonical_json(spec.decode(topics, blob)),
            True,
        )


def test_malformed_data_is_kept_raw_not_lost() -> None:
    abi = next(e for e in artifacts.abi(REGISTRY) if e.get("name") == "MemberAdmitted")
    from ledger.abi import decode_log

    spec = ContractSpec.from_abi(REGISTRY, "0x" + "11" * 20, [abi])
    topic0 = next(iter(spec.events))
    name, args, ok = decode_log(spec, [topic0, bytes(32)], b"\x01" * 40)
    assert (name, ok) == (UNKNOWN_EVENT, False) and args["data"] == "0x" + "01" * 40
    # the hex path keeps the same logs raw, the same way
    hex_topics = ["0x" + topic0.hex(), "0x" + "00" * 32]
    for blob in (b"\x01" * 40, b"\xff" * 160):
        raw = decode_log(spec, [topic0, bytes(32)], blob)
        assert raw[2] is False
        assert decode_log_hex(spec, hex_topics, "0x" + blob.hex()) == (
            raw[0],
            canonical_json(raw[1]),
            False,
        )
    with pytest.raises(ValueError):  # not hex at all: an error, as bytes.fromhex gives
        decode_log_hex(spec, hex_topics, "0x" + "00" * 160 + "zz")


# -- an in-memory JSON-RPC node for the benchmark ----------------------------------
#
# Answers go through json.dumps/json.loads like a real HTTP node's, so the baseline
# (web3's own eth_getLogs) pays what it pays against a real node minus the network.

CHAIN_ID = 4242


def _h(b: bytes) -> str:
    return "0x" + b.hex()


def _topic(sig: str) -> str:
    return _h(keccak(text=sig))


def _word(n: int) -> str:
    return _h(n.to_bytes(32, "big"))


class FakeNode(JSONBaseProvider):
    """``events`` MembershipRegistry-shaped logs, ``per_block`` to a block, from block 1."""

    def __init__(self, address: str, events: int, per_block: int, base_time: int = 1_700_000_000):
        super().__init__()
        self.address = address.lower()
        self.per_block = per_block
        self.base_time = base_time
        self.head = (events + per_block - 1) // per_block
        self.calls: dict[str, int] = {}
        admitted = _topic("MemberAdmitted(uint64,string,uint8,uint16,address)")
        approved = _topic("ProposalApproved(uint256,uint64,address)")
        created = _topic("ProposalCreated(uint256,uint64,address,uint8,bytes,uint48)")
        self.logs: list[list[dict[str, Any]]] = [[] for _ in range(self.head + 1)]
        for i in range(events):
            number = 1 + i // per_block
            account = "0x" + keccak(i.to_bytes(8, "big"))[12:].hex()
            kind = i % 3
            if kind == 0:
                topics = [admitted, _word(i)]
                data = encode(
                    ["string", "uint8", "uint16", "address"], [f"member {i}", 1, 64, account]
                )
            elif kind == 1:
                topics = [approved, _word(2**200 + i), _word(i % 7)]
                data = encode(["address"], [account])
            else:
                topics = [created, _word(i), _word(1)]
                data = encode(
                    ["address", "uint8", "bytes", "uint48"], [account, 0, bytes(100) + b"x", 10**9]
                )
            self.logs[number].append(
                {
                    "address": self.address,
                    "topics": topics,
                    "data": _h(data),
                    "blockNumber": hex(number),
                    "blockHash": self.block_hash(number),
                    "transactionHash": _h(keccak(b"tx" + i.to_bytes(8, "big"))),
                    "transactionIndex": "0x0",
                    "logIndex": hex(len(self.logs[number])),
                    "removed": False,
                }
            )

    def block_hash(self, number: int) -> str:
        return _h(keccak(b"block" + number.to_bytes(8, "big")))

    def header(self, number: int) -> dict[str, Any] | None:
        if number > self.head:
            return None
        return {
            "number": hex(number),
            "hash": self.block_hash(number),
            "parentHash": self.block_hash(number - 1) if number else _h(bytes(32)),
            "timestamp": hex(self.base_time + number),
            "miner": "0x" + "00" * 20,
            "gasLimit": "0x1c9c380",
            "gasUsed": "0x0",
            "transactions": [],
            "logsBloom": "0x" + "00" * 256,
            "extraData": "0x",
            "difficulty": "0x0",
            "nonce": "0x0000000000000000",
            "size": "0x100",
        }

    def answer(self, method: str, params: Any) -> Any:
        self.calls[method] = self.calls.get(method, 0) + 1
        if method == "eth_chainId":
            return hex(CHAIN_ID)
        if method == "eth_blockNumber":
            return hex(self.head)
        if method == "eth_getBlockByNumber":
            tag = params[0]
            return self.header(self.head if tag == "latest" else int(tag, 16))
        if method == "eth_getLogs":
            frm, to = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
            out: list[dict[str, Any]] = []
            for n in range(max(frm, 0), min(to, self.head) + 1):
                out.extend(self.logs[n])
            return out
        raise NotImplementedError(method)

    def _wire(self, rid: int, result: Any) -> RPCResponse:
        text = json.dumps({"jsonrpc": "2.0", "id": rid, "result": result})
        response: RPCResponse = self.decode_rpc_response(text.encode())
        return response

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return self._wire(1, self.answer(method, params))

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse]:
        self.calls["batch"] = self.calls.get("batch", 0) + 1
        results = [self.answer(m, p) for m, p in requests]
        text = json.dumps([{"jsonrpc": "2.0", "id": i, "result": r} for i, r in enumerate(results)])
        decoded: list[RPCResponse] = self.decode_rpc_response(text.encode())  # type: ignore[assignment]
        return decoded

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def test_a_large_range_is_indexed_in_one_get_logs_call_per_batch(tmp_path: Path) -> None:
    """30,000 events (3 a block) from a JSON-RPC node in memory: every event indexed,
    one ``eth_getLogs`` per batch, ranges adapted to ``batch_events`` logs, timestamps
    right. (The speed against the bare fetch is measured side by side in bench/, not
    asserted here.)"""
    address = "0x" + "ab" * 20
    node = FakeNode(address, events=30_000, per_block=3)
    w3 = Web3(node)
    ix = Indexer(Web3Node(w3), {REGISTRY: address}, tmp_path / "bench.sqlite")
    seen: list[SyncProgress] = []
    result = ix.sync(seen.append)
    assert result.events == ix.count() == 30_000
    assert node.calls["eth_getLogs"] == result.batches == len(seen)  # one call a batch
    sizes = [p.to_block - (q.to_block if q else -1) for q, p in zip([None, *seen], seen, strict=False)]
    assert sizes[:5] == [4, 16, 64, 256, 1024]  # growing from 4 blocks, x4 at most
    assert all(s <= 2000 and 3 * s <= 5000 for s in sizes)  # batch_blocks, batch_events
    assert result.batches <= 5 + -(-(node.head + 1 - 1364) // 1666)
    row = ix.rows(order="desc", limit=1)[0]
    assert row.block_time == node.base_time + row.block_number


def test_dense_blocks_are_fetched_in_smaller_ranges(tmp_path: Path) -> None:
    """400 events a block: ranges shrink to about ``batch_events`` logs."""
    address = "0x" + "ab" * 20
    node = FakeNode(address, events=20_000, per_block=400)
    ix = Indexer(Web3Node(Web3(node)), {REGISTRY: address}, tmp_path / "dense.sqlite", batch_events=1000, start_block=1)
    seen: list[SyncProgress] = []
    result = ix.sync(seen.append)
    assert result.events == 20_000 and result.complete
    events = [p.events - (q.events if q else 0) for q, p in zip([None, *seen], seen, strict=False)]
    assert max(events[1:]) <= 1000 < events[0]  # the first range (4 blocks) was too big
    assert dump(ix, with_id=False) == dump(rebuilt(node, address, tmp_path), with_id=False)


def rebuilt(node: FakeNode, address: str, tmp_path: Path) -> Indexer:
    """The same node indexed one block a range (no adaptation, no look-ahead to speak of)."""
    ix = Indexer(
        Web3Node(Web3(node)), {REGISTRY: address}, tmp_path / "one-by-one.sqlite", batch_blocks=1, start_block=1
    )
    ix.sync()
    return ix


def test_postgresql(ledger: Ledger, postgresql: PostgresServer, tmp_path: Path) -> None:
    """An index on PostgreSQL, built by rebuild(), holds and reads what SQLite's does."""
    ledger.activity(2)
    ix = ledger.indexer(postgresql.database("ix"))
    ix.rebuild()
    assert ix._store.dialect == "postgresql"
    assert ix.count_events(event="MemberAdmitted", args={"memberId": 5}) == 1
    assert ix.health().ok
    lite = ledger.indexer(tmp_path / "i.sqlite")
    lite.sync()
    assert dump(ix) == dump(lite)
