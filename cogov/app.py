"""The ``cogov`` Typer application and the foundation commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from api.apikeys import ApiKeyStore

from cogov import output as out
from cogov.context import Env, env, set_env
from cogov.options import JsonOpt, PasswordFileOpt

app = typer.Typer(
    name="cogov",
    help="CoGov Ledger: inter-department data sharing and the community co-governance fund, on a permissioned chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _global(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show details and tracebacks on errors.")] = False,
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", envvar="COGOV_RPC_URLS", help="JSON-RPC URL(s), comma-separated.")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", envvar="COGOV_MANIFEST_PATH", help="Deployment manifest file.")
    ] = None,
) -> None:
    out.VERBOSE["on"] = out.VERBOSE["on"] or verbose
    set_env(Env(rpc_url, manifest))


# ---------------------------------------------------------------- compile


@app.command("compile")
def compile_cmd(
    check: Annotated[bool, typer.Option("--check", help="Recompile and fail if a committed artifact differs.")] = False,
) -> None:
    """Compile contracts/ (solc 0.8.28, paris, optimizer) into ledger/artifacts/ (contracts/test/ into
    tests/artifacts/, contracts/bench/ into bench/artifacts/)."""
    from ledger import compiler

    with out.progress("compiling") as bar:
        compiled = compiler.compile_sets(bar.message)
    total = sum(len(artifacts) for _set, _input, artifacts in compiled)
    if check:
        for artifact_set, input_json, artifacts in compiled:
            compiler.check_artifacts(artifacts, input_json, artifact_set.out_dir)
        out.ok(f"{total} committed artifacts match a fresh compile")
        return
    for artifact_set, input_json, artifacts in compiled:
        written = compiler.write_artifacts(input_json, artifacts, artifact_set.out_dir)
        out.ok(f"compiled {len(artifacts)} contracts; wrote {len(written)} files to {artifact_set.out_dir}")
    out.ok(f"compiled {total} contracts")


# ---------------------------------------------------------------- chain

chain_app = typer.Typer(help="The local Ganache development chain.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Chain settings (default: ganache.yml).")]


def _ganache(config: Path | None):  # type: ignore[no-untyped-def]
    from ledger.chain import ChainConfig, Ganache

    return Ganache(ChainConfig.load(config))


@chain_app.command("up")
def chain_up(config: ConfigOpt = None) -> None:
    """Start Ganache (persistent database) and wait until JSON-RPC answers."""
    g = _ganache(config)
    was_running = g.is_ours_running()
    st = g.start()
    if was_running:
        out.ok(f"chain already running at {st.url} (pid {st.pid}, block {st.block})")
    else:
        out.ok(f"chain up at {st.url} (pid {st.pid}, chain id {st.chain_id}, block {st.block})")
    out.say(st.url)


@chain_app.command("down")
def chain_down(config: ConfigOpt = None) -> None:
    """Stop the chain started by `cogov chain up` (its data is kept)."""
    g = _ganache(config)
    if g.stop():
        out.ok("chain stopped; its database is kept")
    else:
        out.say("chain was not running")


@chain_app.command("status")
def chain_status(
    config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Show whether the chain runs, its URL, pid, chain id and height (exit 3 if down)."""
    from dataclasses import asdict

    st = _ganache(config).status()
    if as_json:
        out.emit_json(asdict(st))
    elif st.running:
        out.say(f"running at {st.url}: pid {st.pid}, chain id {st.chain_id}, block {st.block}, db {st.db_path}")
    else:
        out.say(f"not running ({st.url}); db {st.db_path}")
    if not st.running:
        raise typer.Exit(out.EXIT_CHAIN)


# ---------------------------------------------------------------- keys

keys_app = typer.Typer(help="Encrypted keystores for local signing.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def keys_new(
    label: Annotated[str, typer.Argument(help="A name for the key, e.g. minzhengju.")],
    password_file: PasswordFileOpt = None,
    fund: Annotated[bool, typer.Option("--fund", help="Fund it from the development chain.")] = False,
) -> None:
    """Create a new key, stored encrypted in the keystore directory."""
    from ledger.keys import read_password

    e = env()
    info = e.keystore.create(label, read_password(password_file))
    out.ok(f"created key {info.label}: {info.address} ({info.path})")
    if fund:
        from ledger.devchain import fund as fund_key

        fund_key(e.ledger(with_manifest=False), info.address)
        out.ok("funded on the development chain")


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """List keys (labels and addresses; never key material)."""
    keys = env().keystore.list()
    if as_json:
        out.emit_json([{"label": k.label, "address": k.address} for k in keys])
        return
    out.table(["label", "address"], [[k.label, k.address] for k in keys], title=str(env().keystore.directory))


# ---------------------------------------------------------------- deploy


@app.command("deploy")
def deploy_cmd(
    params_file: Annotated[
        Path, typer.Option("--params", help="Deployment parameters (YAML): council seats, threshold, ...")
    ] = Path("deploy.yml"),
    key: Annotated[str, typer.Option("--key", help="Keystore label of the deployer.")] = "deployer",
    password_file: PasswordFileOpt = None,
) -> None:
    """Deploy the contract suite and write the manifest; idempotent on the same chain."""
    import yaml

    from ledger.deploy import DeployParams, deploy
    from ledger.errors import ConfigError

    e = env()
    if not params_file.is_file():
        raise ConfigError(f"deployment parameters {params_file} not found")
    raw = yaml.safe_load(params_file.read_text("utf-8")) or {}
    for seat in raw.get("council", []):
        acct = str(seat.get("account", ""))
        if acct and not acct.startswith("0x"):
            seat["account"] = e.keystore.info(acct).address  # a key label
    params = DeployParams.model_validate(raw)
    led = e.ledger(with_manifest=False)
    signer = e.signer(key, password_file)
    with out.progress("deploying") as bar:
        result = deploy(led, signer, params, e.settings.manifest_path, bar.message)
    if not result.deployed:
        out.ok(
            f"nothing to do: all {len(result.unchanged)} contracts are deployed and match ({e.settings.manifest_path})"
        )
    else:
        out.ok(f"deployed {', '.join(result.deployed)}; manifest {e.settings.manifest_path}")
    for name, dep in result.manifest.contracts.items():
        out.say(f"  {name:24} {dep.address}  block {dep.block_number}")


# ---------------------------------------------------------------- serve


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, help="API processes (uvicorn workers); more than one needs PostgreSQL for the service database "
        "and the index (COGOV_SERVICE_DB_URL, COGOV_INDEX_DB_URL).",
    )] = 1,
    worker_healthcheck: Annotated[int, typer.Option(
        min=1, help="Seconds a worker may take to answer the master's health ping before it is killed and "
        "restarted (uvicorn's default, 5, kills busy workers on a loaded machine).",
    )] = 30,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="uvicorn's access log: a line per request."),
    ] = False,
) -> None:
    """Run the HTTP API and the transparency page (uvicorn), in one process or several."""
    import uvicorn

    e = env()
    if workers > 1:
        _require_shared_databases(e.settings.service_db_url, e.settings.index_db_url, workers)
    os.environ.setdefault("COGOV_RPC_URLS", ",".join(e.settings.rpc_urls))
    os.environ.setdefault("COGOV_MANIFEST_PATH", str(e.settings.manifest_path))
    many = f", {workers} processes" if workers > 1 else ""
    out.say(f"serving on http://{host}:{port}{many}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run("api.main:app_factory", factory=True, host=host, port=port, log_level="info", workers=workers,
                access_log=access_log, timeout_worker_healthcheck=worker_healthcheck)


def _require_shared_databases(service_db_url: str, index_db_url: str, workers: int) -> None:
    """Several processes share nonces, idempotency keys and the index through PostgreSQL only."""
    import sqlalchemy as sa

    from ledger.errors import ConfigError

    for name, url in (("COGOV_SERVICE_DB_URL", service_db_url), ("COGOV_INDEX_DB_URL", index_db_url)):
        backend = sa.engine.make_url(url if "://" in url else f"sqlite:///{url}").get_backend_name()
        if backend != "postgresql":
            raise ConfigError(
                f"--workers {workers} needs PostgreSQL: {name} is {backend}, which one process only may use "
                "(its nonces, idempotency keys and index follower are kept per process); set it to a "
                "postgresql+psycopg:// URL or run one worker"
            )


# ---------------------------------------------------------------- apikeys

apikeys_app = typer.Typer(help="API keys (stored as hashes) bound to a signing key and a role.", no_args_is_help=True)
app.add_typer(apikeys_app, name="apikeys")


def _apikey_store() -> ApiKeyStore:
    from api.apikeys import ApiKeyStore, engine_for

    return ApiKeyStore(engine_for(env().settings.service_db_url))


@apikeys_app.command("create")
def apikeys_create(
    label: Annotated[str, typer.Argument(help="Who the key is for, e.g. 民政局-gateway.")],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="council, department, data_governance, fund_committee, treasurer, auditor, contributor, "
            "sub_district, district or channel."
        ),
    ],
    key: Annotated[str, typer.Option("--key", help="Keystore label of the account the API signs with.")],
) -> None:
    """Create an API key. The key is printed once; only its hash is stored."""
    info = env().keystore.info(key)
    token, rec = _apikey_store().create(label, role, info.address, info.label)
    out.ok(f"API key {rec.key_id} for {label} ({role}, signs as {info.address})")
    out.say(token)


@apikeys_app.command("list")
def apikeys_list() -> None:
    """List API keys (ids, labels, roles; never the secrets)."""
    rows = [
        [k.key_id, k.label, k.role.name.lower(), k.account, "revoked" if k.revoked_at else "active"]
        for k in _apikey_store().list()
    ]
    out.table(["id", "label", "role", "account", "state"], rows)


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (from `apikeys list`).")]) -> None:
    """Revoke an API key at once."""
    if _apikey_store().revoke(key_id):
        out.ok(f"revoked {key_id}")
    else:
        out.say(f"no active key {key_id}")
        raise typer.Exit(out.EXIT_OTHER)


# ---------------------------------------------------------------- sub-apps (one module per domain)

from cogov.index import index_app  # noqa: E402

app.add_typer(index_app, name="index")

from cogov.db import db_app  # noqa: E402

app.add_typer(db_app, name="db")

from cogov.access_log import log_app  # noqa: E402
from cogov.data import data_app  # noqa: E402
from cogov.receipts import receipt_app  # noqa: E402

data_app.add_typer(log_app)  # `cogov data log`, `cogov data prove`
data_app.add_typer(receipt_app)  # `cogov data verify-receipt`
app.add_typer(data_app, name="data")

from cogov.besu import besu_app  # noqa: E402

app.add_typer(besu_app, name="besu")

from cogov.cases import cases_app  # noqa: E402
from cogov.fund import credit_app, fund_app  # noqa: E402

app.add_typer(fund_app, name="fund")
app.add_typer(credit_app, name="credit")
app.add_typer(cases_app, name="cases")

from cogov.audit import audit_app  # noqa: E402

app.add_typer(audit_app, name="audit")

from cogov.network import network_app  # noqa: E402

app.add_typer(network_app, name="network")

from cogov.members import council_app, members_app  # noqa: E402

app.add_typer(members_app, name="members")
app.add_typer(council_app, name="council")
