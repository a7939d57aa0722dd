"""`cogov data` against the test deployment: keygen, upload, request, approve, fetch, log, prove."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.apikeys import ApiKeyStore, engine_for
from cogov.app import app
from cogov.output import when
from ledger.commitment import commit
from ledger.data import DataSharing, canonical_hash
from ledger.membership import ChangeKind, Registry
from tests.api.conftest import Api, LiveServer
from tests.api.test_data_support import settle_refusals, synthetic_csv, unique
from tests.conftest import MEMBER_IDS, Deployment

pytestmark = pytest.mark.ganache


def _cli_env(deployment: Deployment, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    s = api.settings
    monkeypatch.setenv("COGOV_ENV", "test")
    monkeypatch.setenv("COGOV_RPC_URLS", deployment.ganache.config.url)
    monkeypatch.setenv("COGOV_MANIFEST_PATH", str(deployment.manifest_path))
    monkeypatch.setenv("COGOV_KEYSTORE_DIR", str(deployment.keystore.directory))
    monkeypatch.setenv("COGOV_GATEWAY_MASTER_KEY_FILE", str(s.gateway_master_key_file))
    monkeypatch.setenv("COGOV_GATEWAY_STORE_DIR", str(s.gateway_store_dir))  # the live API's store
    monkeypatch.setenv("COGOV_SERVICE_DB_URL", s.service_db_url)  # and its texts (a purpose's opening)


RUNNER = CliRunner()


def run(*args: str) -> str:
    res = RUNNER.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_cli_share_fetch_log_prove(
    deployment: Deployment, api: Api, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, live = api.settings, live_server.url
    _cli_env(deployment, api, monkeypatch)
    runner = RUNNER

    assert "Usage" in run("data", "fetch", "--help")
    keyfile = tmp_path / "weijianwei.x25519"
    pub = run("data", "keygen", str(keyfile)).strip().splitlines()[-1]
    assert keyfile.stat().st_mode & 0o777 == 0o600 and pub.startswith("0x") and len(pub) == 66
    Registry(deployment.ledger()).enact(
        deployment.council, ChangeKind.SET_DATA_KEY, MEMBER_IDS["dept_a"], bytes.fromhex(pub[2:])
    )
    src = tmp_path / "bins.csv"
    src.write_bytes(synthetic_csv(4))
    outp = run(
        "data", "upload", str(src), "--key", "dept_b", "--title", unique("cli bins"), "--classification", "internal"
    )
    did = int(outp.split("uploaded dataset ")[1].split(":")[0])
    outp = run("data", "request", str(did), "--key", "dept_a", "--purpose", "cli test", "--duration", "600")
    rid = int(outp.split("request ")[1].split(" ")[0])
    # the purpose: a salted commitment on chain, its opening kept where the API serves it to the owner
    with httpx.Client(base_url=live, timeout=30) as http:
        purpose_hash = http.get(f"/api/v1/access-requests/{rid}", headers=api.auth("dept_b")).json()["purpose_hash"]
        opened = http.get(f"/api/v1/access-requests/{rid}/purpose", headers=api.auth("dept_b"))
    assert opened.status_code == 200 and opened.json()["text"] == "cli test"
    salt = bytes.fromhex(opened.json()["salt"][2:])
    assert purpose_hash == opened.json()["hash"] == "0x" + commit("cli test", salt).hex()
    outp = run("data", "approve", str(rid), "--key", "dept_b")
    assert "granted" in outp
    gid = int(outp.split("grant ")[1].split(";")[0])
    grants = json.loads(run("data", "grants", "--dataset", str(did), "--json"))
    assert [g["id"] for g in grants] == [gid] and grants[0]["state"] == "active"

    token, _ = ApiKeyStore(engine_for(s.service_db_url)).create(
        "cli-dept_a", "department", deployment.signers["dept_a"].address, "dept_a"
    )
    monkeypatch.setenv("COGOV_API_KEY", token)
    dest = tmp_path / "got.csv"
    run("data", "fetch", str(did), "--api", live, "--key-file", str(keyfile), "--out", str(dest))
    assert dest.read_bytes() == src.read_bytes()
    # the grantee narrows its grant to two fields; a fetch of another is refused
    outp = run("data", "narrow", str(gid), "--key", "dept_a", "--fields", "age,district")
    assert f"grant {gid} narrowed: fields age,district" in outp
    res = runner.invoke(
        app,
        ["data", "fetch", str(did), "--api", live, "--key-file", str(keyfile), "--out", str(dest), "--fields", "name"],
    )
    assert res.exit_code != 0 and "OutOfScope" in str(res.exception)
    # a request with every term; the API shows them
    flt = tmp_path / "filter.json"
    flt.write_text('{"all": [{"field": "district", "op": "eq", "value": "东区"}]}')
    outp = run("data", "request", str(did), "--key", "dept_a", "--purpose", "terms", "--purpose-code", "7",
               "--fields", "district,age", "--max-accesses", "3", "--no-onward-sharing", "--row-filter", str(flt))
    assert "for fields age,district, purpose 7 社会救助 (social assistance)" in " ".join(outp.split())
    rid2 = int(outp.split("request ")[1].split(" ")[0])
    with httpx.Client(base_url=live, timeout=30) as http:
        req = http.get(f"/api/v1/access-requests/{rid2}", headers=api.auth("dept_b")).json()
    assert (req["fields"], req["max_accesses"], req["no_onward_sharing"]) == (["age", "district"], 3, True)
    assert req["row_filter_hash"] is not None and req["purpose_name"].startswith("社会救助")

    settle_refusals(live_server.app)  # the gateway records a member's refusal off the request path
    batch = tmp_path / "batch.json"
    log = json.loads(run("data", "log", "--dataset", str(did), "--json", "--batch-out", str(batch)))
    assert [r["kind"] for r in log] == ["access", "refusal"]
    res = runner.invoke(app, ["data", "prove", str(batch), "--anchor", "--key", "dept_a"])  # the grantee, not the owner
    assert res.exit_code != 0 and "not on datasets of member" in str(res.exception)
    run("data", "prove", str(batch), "--anchor", "--key", "dept_b")
    proof = json.loads(run("data", "prove", str(batch), "--index", "0"))
    assert proof["verified_on_chain"] is True and proof["verified_locally"] is True
    doc = json.loads(batch.read_text())
    doc["records"][0]["row_count"] += 1  # a doctored record no longer verifies
    batch.write_text(json.dumps(doc))
    res = runner.invoke(app, ["data", "prove", str(batch), "--index", "0"])
    assert res.exit_code != 0


def test_cli_renewal_of_a_sensitive_grant_needs_data_governance(
    deployment: Deployment, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli_env(deployment, api, monkeypatch)
    runner = RUNNER

    src = tmp_path / "clinics.csv"
    src.write_bytes(synthetic_csv(3))
    outp = run("data", "upload", str(src), "--key", "dept_b", "--title", unique("cli clinics"), "--classification",
               "sensitive")
    did = int(outp.split("uploaded dataset ")[1].split(":")[0])
    outp = run("data", "request", str(did), "--key", "dept_a", "--purpose", "cli renewal", "--duration", "600")
    rid = int(outp.split("request ")[1].split(" ")[0])
    run("data", "approve", str(rid), "--key", "dept_b")
    outp = run("data", "approve", str(rid), "--key", "c3", "--governance")
    gid = int(outp.split("grant ")[1].split(";")[0])
    expires = json.loads(run("data", "grants", "--dataset", str(did), "--json"))[0]["expires_at"]
    outp = run("data", "renew", str(gid), "--extension", "300", "--key", "dept_b")
    assert "waits for data governance" in outp and "--extension 300 --approve" in outp
    assert json.loads(run("data", "grants", "--dataset", str(did), "--json"))[0]["expires_at"] == expires
    res = runner.invoke(app, ["data", "renew", str(gid), "--extension", "300", "--key", "dept_a", "--approve"])
    assert res.exit_code != 0 and "DataMissingRole" in str(res.exception)  # the grantee is not data governance
    outp = run("data", "renew", str(gid), "--extension", "300", "--key", "c3", "--approve")
    assert f"now expires at {when(expires + 300)}" in outp  # a local date, as every table shows


def test_cli_register_and_upload_take_a_table_schema(
    deployment: Deployment, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli_env(deployment, api, monkeypatch)
    data = DataSharing(deployment.ledger())
    src, schema_file = tmp_path / "roster.csv", tmp_path / "schema.json"
    src.write_bytes(synthetic_csv(3))
    schema = {"fields": [{"name": n} for n in ("resident_id", "name", "age", "district", "needs_visit")]}
    schema_file.write_text(json.dumps(schema))
    outp = run("data", "register", str(src), "--key", "dept_b", "--title", unique("cli roster"),
               "--classification", "internal", "--schema", str(schema_file))
    did = int(outp.split("registered dataset ")[1].split(" ")[0])
    # hashed in frictionless's normal form: a field without a type is a string field
    normal = {"fields": [{**f, "type": "string"} for f in schema["fields"]]}
    assert data.dataset(did).schema_hash == canonical_hash(normal)
    schema["fields"][3]["type"] = "integer"  # district is not
    schema_file.write_text(json.dumps(schema))
    before = data.dataset_count()
    res = RUNNER.invoke(app, ["data", "upload", str(src), "--key", "dept_b", "--title", unique("cli roster"),
                              "--schema", str(schema_file)])
    assert res.exit_code != 0 and "row 2 (the header is row 1), field 'district': type error" in str(res.exception)
    assert data.dataset_count() == before
