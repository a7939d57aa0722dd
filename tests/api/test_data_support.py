"""Helpers shared by the data-sharing tests (collected by pytest, holds no tests)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger.gateway import open_sealed
from ledger.testing import register_data_key as register_data_key  # the data tests import it from here


def synthetic_csv(rows: int = 5) -> bytes:
    """A fresh file each call (its resident ids carry a random tag): a content hash belongs to the
    member that registered it first, so two members' uploads must differ."""
    tag = secrets.token_hex(3).upper()
    lines = ["resident_id,name,age,district,needs_visit"]
    for i in range(rows):
        lines.append(f"R{tag}{i:04d},合成居民{i}（虚构）,{70 + i % 25},{['东区', '西区'][i % 2]},{i % 3 == 0}")
    return ("\n".join(lines) + "\n").encode()


def unique(title: str) -> str:
    return f"{title} #{secrets.token_hex(3)}"


def upload(client: Any, auth: dict[str, str], title: str, classification: str, content: bytes,
           filename: str = "data.csv", schema: dict[str, Any] | None = None) -> Any:
    """POST the file (and its table ``schema``, else the gateway infers it) as a new dataset."""
    files = {"file": (filename, content, "text/csv")}
    if schema is not None:
        files["schema"] = ("schema.json", json.dumps(schema).encode(), "application/json")
    return client.post(
        "/api/v1/datasets",
        headers=auth,
        data={"title": title, "classification": classification, "description": "synthetic test data"},
        files=files,
    )


def settle_refusals(app: Any, *, flush: bool = True) -> None:
    """Wait until the app's gateway has recorded the refused fetches it queued (and, with ``flush``,
    those it counted inside their window). A gateway without a recorder recorded them already."""
    recorder = getattr(getattr(app.state.service, "_data_gateway", None), "refusals", None)
    if recorder is not None:
        if flush:
            recorder.flush()
        assert recorder.drain(60), "the gateway's refusal records did not go out"


def decrypt(priv: X25519PrivateKey, body: dict[str, Any]) -> bytes:
    return open_sealed(priv, body["envelope"])


def dumps(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False)
