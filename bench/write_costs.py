"""What each JSON-RPC request of a write costs the node: Ganache's own CPU time per request.

Ganache answers every request on one thread, so the node's CPU time per write bounds the
write rate of every way ``bench/throughput.py`` compares. Each request kind is asked one at a
time, ``--count`` times, on a private Ganache with the suite deployed, and the Ganache
process's CPU time (user + system, from ``/proc``) is divided by the count: unlike a rate, this
hardly moves with the machine's load. Per operation (``recordAccess``, ``contribute``):

* ``eth_call``: the pre-flight (the write simulated, as ``GasPlanner`` does before signing),
  one request at a time and in JSON-RPC batches of 20; at ``"pending"`` and at the head's number
  instead of ``"latest"``, with the gas limit given, and to an account without code (what any
  ``eth_call`` costs Ganache before the contract's state is read);
* ``eth_estimateGas``: what a pre-flight by estimate alone would cost;
* the write itself: pre-signed transactions sent pipelined (batches of 20) until mined, as
  the throughput bench's raw way does;
* the requests of waiting for a receipt: ``eth_blockNumber``, ``eth_getBlockByNumber``,
  ``eth_getTransactionReceipt`` (alone and in batches of 20), ``eth_getTransactionCount``.

    .venv/bin/python bench/write_costs.py [--count N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

BATCH = 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100, help="requests per kind (a multiple of 20)")
    ns = ap.parse_args()
    n = max(BATCH, ns.count // BATCH * BATCH)

    import httpx
    from eth_utils import keccak

    result: dict[str, Any] = {"count": n, "unit": "node CPU ms per request (per write for the batched rows)"}
    with C.suite("cogov-bench-costs-") as s:
        sig = s.signers
        _, gid = C.grant_for_bench(s)
        C.credit_for_contributions(s, "resident", 10**15)
        led = s.ledger()
        dsc, fc = led.contract("DataSharing"), led.contract("CoGovFund")
        http = httpx.Client(base_url=led.url, timeout=120)

        def rpc(method: str, params: list[Any]) -> Any:
            answer = http.post("/", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
            if "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            return answer["result"]

        def batch(method: str, params: list[list[Any]]) -> list[Any]:
            body = [{"jsonrpc": "2.0", "id": j, "method": method, "params": p} for j, p in enumerate(params)]
            return [a.get("result") for a in http.post("/", json=body).json()]

        def cost(count: int, one: Callable[[int], object]) -> float:
            cpu0 = C.node_cpu(s)
            for i in range(count):
                one(i)
            return C.node_cpu_ms(s, cpu0, count)

        ops = {
            "access_record": (sig["c2"], led.manifest.address("DataSharing"), lambda i: str(
                dsc.encode_abi("recordAccess", args=[gid, keccak(text=f"c{i}"), i % 100, 1]))),
            "contribution": (sig["resident"], led.manifest.address("CoGovFund"),
                             lambda i: str(fc.encode_abi("contribute", args=[100 + i, 0, keccak(text=f"c{i}")]))),
        }
        for op_name, (signer, to, data) in ops.items():
            def tx(i: int, signer: Any = signer, to: str = to, data: Callable[[int], str] = data) -> dict[str, Any]:
                return {"from": signer.address, "to": to, "data": data(i)}

            C.say(f"{op_name}: {n} of each request")
            fig: dict[str, float] = {}
            fig["eth_call (pre-flight)"] = cost(n, lambda i, tx=tx: rpc("eth_call", [tx(i), "latest"]))
            fig["eth_call at \"pending\""] = cost(n, lambda i, tx=tx: rpc("eth_call", [tx(i), "pending"]))
            fig["eth_call at the head's number"] = cost(n, lambda i, tx=tx: rpc(
                "eth_call", [tx(i), rpc("eth_blockNumber", [])]))
            fig["eth_call with the gas limit given (as the pre-flight sends it)"] = cost(
                n, lambda i, tx=tx: rpc("eth_call", [{**tx(i), "gas": hex(500_000)}, "latest"]))
            fig["eth_call of nothing (to an account without code: the fixed part)"] = cost(
                n, lambda i, a=signer.address: rpc("eth_call", [{"from": a, "to": a, "data": "0x"}, "latest"]))
            fig["eth_call, batches of 20"] = cost(n // BATCH, lambda k, tx=tx: batch(
                "eth_call", [[tx(k * BATCH + j), "latest"] for j in range(BATCH)])) / BATCH
            fig["eth_estimateGas"] = cost(max(5, n // 10), lambda i, tx=tx: rpc("eth_estimateGas", [tx(i)]))
            gas = int(rpc("eth_estimateGas", [tx(0)]), 16) * 2
            nonce = int(rpc("eth_getTransactionCount", [signer.address, "pending"]), 16)
            raws = ["0x" + signer.sign_transaction({
                "chainId": led.chain_id, "nonce": nonce + i, "gas": gas, "gasPrice": led.gas_price(), "to": to,
                "data": data(10_000 + i), "value": 0}).hex() for i in range(n)]
            hashes: list[str] = []
            cpu0 = C.node_cpu(s)
            for k in range(0, n, BATCH):
                hashes += batch("eth_sendRawTransaction", [[r] for r in raws[k : k + BATCH]])
            while int(rpc("eth_getTransactionCount", [signer.address, "latest"]), 16) < nonce + n:
                time.sleep(0.01)
            fig["the write (sent pipelined, till mined)"] = C.node_cpu_ms(s, cpu0, n)
            head = int(rpc("eth_blockNumber", []), 16)
            fig["eth_blockNumber"] = cost(n, lambda i: rpc("eth_blockNumber", []))
            fig["eth_getBlockByNumber"] = cost(n, lambda i, h=head: rpc("eth_getBlockByNumber", [hex(h - i), False]))
            fig["eth_getTransactionReceipt"] = cost(n, lambda i, hs=hashes: rpc("eth_getTransactionReceipt", [hs[i]]))
            fig["eth_getTransactionReceipt, batches of 20"] = cost(n // BATCH, lambda k, hs=hashes: batch(
                "eth_getTransactionReceipt", [[h] for h in hs[k * BATCH : (k + 1) * BATCH]])) / BATCH
            fig["eth_getTransactionCount"] = cost(
                n, lambda i, a=signer.address: rpc("eth_getTransactionCount", [a, "pending"]))
            write = fig["the write (sent pipelined, till mined)"]
            fig["pre-flight / the write"] = round(fig["eth_call (pre-flight)"] / write, 3)
            fig["bound on library / raw with the pre-flight (node CPU alone)"] = round(
                write / (write + fig["eth_call (pre-flight)"]), 3)
            result[op_name] = {k: round(v, 3) for k, v in fig.items()}
    C.emit("write_costs", result)


if __name__ == "__main__":
    main()
