"""The development chain: start, refuse a foreign port, one copy only, persistence."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ledger.chain import ChainConfig, Ganache, rpc
from ledger.client import Ledger
from ledger.devchain import fund
from ledger.errors import PortTaken
from ledger.keys import Keystore
from ledger.process import free_port
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.ganache


def test_state_survives_kill_9_and_restart(ganache_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    g = ganache_factory()
    led = Ledger(g.config.url)
    ks = Keystore(tmp_path / "keys")
    ks.create("k", TEST_PASSWORD)
    signer = ks.signer("k", TEST_PASSWORD)
    fund(led, signer.address, 5 * 10**18)
    genesis = led.genesis_hash
    height = led.block_number()
    g.kill()  # SIGKILL: no chance to flush gracefully
    assert not g.status().running
    g.start()
    led2 = Ledger(g.config.url)
    assert led2.genesis_hash == genesis
    assert led2.block_number() == height
    assert int(led2.rpc("eth_getBalance", [signer.address, "latest"]), 16) == 5 * 10**18
    g.stop()
    g.start()  # and a graceful down + up
    assert Ledger(g.config.url).block_number() == height


def test_up_twice_never_starts_a_second_copy(ganache_factory) -> None:  # type: ignore[no-untyped-def]
    g = ganache_factory()
    pid = g.pid
    again = Ganache(g.config)  # as a second `cogov chain up` would
    st = again.start()
    assert st.pid == pid


def test_up_refuses_a_port_taken_by_something_else(tmp_path: Path) -> None:
    class Hello(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"not json-rpc")

        def log_message(self, *a: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        cfg = ChainConfig.load(port=port, db_path=tmp_path / "chain")
        with pytest.raises(PortTaken, match=f"127.0.0.1:{port} is in use"):
            Ganache(cfg).start()
    finally:
        server.shutdown()


def test_cli_chain_up_status_down(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "ganache.yml"
    config.write_text(f"chain_id: 1337\nport: {port}\ndb_path: {tmp_path / 'chain'}\n")
    cogov = [sys.executable, "-m", "cogov"]
    try:
        up = subprocess.run(
            [*cogov, "chain", "up", "--config", str(config)], capture_output=True, text=True, timeout=90
        )
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{port}" in up.stdout
        st = subprocess.run(
            [*cogov, "chain", "status", "--config", str(config)], capture_output=True, text=True, timeout=30
        )
        assert st.returncode == 0 and "running" in st.stdout
        assert int(rpc(f"http://127.0.0.1:{port}", "eth_chainId"), 16) == 1337
    finally:
        down = subprocess.run(
            [*cogov, "chain", "down", "--config", str(config)], capture_output=True, text=True, timeout=60
        )
    assert down.returncode == 0
    st = subprocess.run(
        [*cogov, "chain", "status", "--config", str(config)], capture_output=True, text=True, timeout=30
    )
    assert st.returncode == 3 and "not running" in st.stdout
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
