"""``cogov data``: datasets, access requests, grants, the gateway, the access log and batch proofs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cogov import output as out
from cogov.context import env
from cogov.options import (
    ContactEmailOpt,
    ContactNameOpt,
    ContactPhoneOpt,
    JsonOpt,
    KeyOpt,
    KeywordsOpt,
    LanguageOpt,
    LicenseOpt,
    PasswordFileOpt,
    SchemaOpt,
    ThemesOpt,
    catalog_options,
    read_file,
)

if TYPE_CHECKING:
    from ledger.gateway import Gateway

data_app = typer.Typer(
    help="Cross-department data sharing: catalog, requests, grants, the gateway, the access log.",
    no_args_is_help=True,
)

CLASSES = "public, internal, sensitive or secret"


def _classification(name: str):  # type: ignore[no-untyped-def]
    from ledger.data import Classification
    from ledger.errors import ValidationFailed

    try:
        return Classification[name.upper()]
    except KeyError as exc:
        raise ValidationFailed("classification", f"one of {CLASSES}") from exc


def _gateway() -> Gateway:
    from ledger.gateway import Gateway, GatewayStore, load_master_key, owner_signer_from_keystore
    from ledger.keys import read_password

    e = env()
    s = e.settings
    master = load_master_key(s.gateway_master_key_file, create=s.env in ("development", "test"))
    store = GatewayStore(s.gateway_store_dir, master)
    return Gateway(
        e.ledger(),
        store,
        owner_signer_from_keystore(e.keystore, lambda label: e.keystore.signer(label, read_password())),
        refusal_window=s.gateway_refusal_window,
        refusal_queue=s.gateway_refusal_queue,
    )


@data_app.command("keygen")
def keygen(
    out_file: Annotated[
        Path, typer.Argument(help="Where to write the X25519 private key (mode 0600; never overwritten).")
    ],
) -> None:
    """Create an X25519 key pair for receiving shared data; prints the public key to register."""
    from ledger.gateway import generate_keypair, write_private_key

    priv, pub = generate_keypair()
    write_private_key(out_file, priv)
    out.ok(f"wrote the private key to {out_file} (mode 0600); keep it secret")
    out.say("register this public key with a council set_data_key proposal:")
    out.say("0x" + pub.hex())


def _schema(path: Path | None) -> dict[str, Any] | None:
    """The table schema of a ``--schema`` file (None: inferred from the dataset file)."""
    from ledger.data.table_schema import load_schema

    return load_schema(read_file(path)) if path is not None else None


@data_app.command("register")
def register(
    file: Annotated[Path, typer.Argument(help="The dataset file (CSV with a header row, or JSON lines).")],
    title: Annotated[str, typer.Option("--title", help="Catalog title (1..256 bytes).")],
    classification: Annotated[str, typer.Option("--classification", help=CLASSES)],
    key: KeyOpt,
    description: Annotated[str, typer.Option("--description")] = "",
    keywords: KeywordsOpt = None,
    themes: ThemesOpt = None,
    contact_name: ContactNameOpt = None,
    contact_email: ContactEmailOpt = None,
    contact_phone: ContactPhoneOpt = None,
    license: LicenseOpt = None,
    language: LanguageOpt = "zh",
    schema: SchemaOpt = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Register a dataset on chain from its file's hashes only (no content stored, see `upload`; its
    metadata document is kept in the gateway's store for the catalog)."""
    from ledger.data import canonical_hash
    from ledger.gateway import describe, detect_format
    from ledger.gateway.metadata import metadata_document, save_metadata

    cls = _classification(classification)
    catalog = catalog_options(cls, keywords, themes, contact_name, contact_email, contact_phone, license, language)
    content = read_file(file)
    fmt = detect_format(file.name, content)
    meta = describe(content, fmt, _schema(schema))
    did, r = env().data_sharing().register(
        env().signer(key, password_file),
        title,
        cls,
        save_metadata(env().settings.gateway_store_dir, metadata_document(title, description, meta, catalog)),
        canonical_hash(meta.schema()),
        meta.content_hash,
        len(meta.fields),
    )
    out.ok(
        f"registered dataset {did} ({meta.rows} rows, fields {','.join(meta.fields)}); "
        f"tx {r.tx_hash}, gas {r.gas_used}"
    )
    out.say(f"content hash (keccak256 of the file bytes): {meta.content_keccak256}")


@data_app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="The dataset file (CSV with a header row, or JSON lines).")],
    key: KeyOpt,
    title: Annotated[str | None, typer.Option("--title", help="Catalog title (a new dataset).")] = None,
    classification: Annotated[str, typer.Option("--classification", help=CLASSES)] = "internal",
    dataset: Annotated[
        int | None, typer.Option("--dataset", help="Upload a new version of this dataset instead.")
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    keywords: KeywordsOpt = None,
    themes: ThemesOpt = None,
    contact_name: ContactNameOpt = None,
    contact_email: ContactEmailOpt = None,
    contact_phone: ContactPhoneOpt = None,
    license: LicenseOpt = None,
    language: LanguageOpt = "zh",
    schema: SchemaOpt = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Store a dataset encrypted in this gateway's store and register it (or a new version) on chain."""
    from ledger.errors import ValidationFailed
    from ledger.gateway import detect_format

    content = read_file(file)
    fmt = detect_format(file.name, content)
    gw = _gateway()
    signer = env().signer(key, password_file)
    if dataset is not None:
        given = (keywords, themes, contact_name, contact_email, contact_phone, license)
        if any(v is not None for v in given):
            raise ValidationFailed(
                "--dataset", "a new version keeps the dataset's registered metadata document and its catalog fields"
            )
        r, meta = gw.update(signer, dataset, content, fmt, _schema(schema))
        out.ok(f"dataset {dataset} is now version {gw.data.dataset(dataset).version}; tx {r.tx_hash}, gas {r.gas_used}")
    else:
        if not title:
            raise ValidationFailed("title", "a new dataset needs --title")
        cls = _classification(classification)
        catalog = catalog_options(cls, keywords, themes, contact_name, contact_email, contact_phone, license, language)
        up = gw.upload(signer, title, cls, content, fmt, description, _schema(schema), catalog=catalog)
        meta = up.meta
        out.ok(
            f"uploaded dataset {up.dataset_id}: {meta.rows} rows, {meta.size} bytes, encrypted at rest; "
            f"tx {up.receipt.tx_hash}, gas {up.receipt.gas_used}"
        )
    out.say(f"content hash (keccak256): {meta.content_keccak256}")


@data_app.command("request")
def request(
    dataset: Annotated[int, typer.Argument(help="Dataset id.")],
    purpose: Annotated[
        str, typer.Option("--purpose", help="Purpose statement (stored off chain; a salted commitment on chain).")
    ],
    key: KeyOpt,
    fields: Annotated[
        str | None, typer.Option("--fields", help="Comma-separated fields (default: all of the schema).")
    ] = None,
    purpose_code: Annotated[
        int, typer.Option("--purpose-code", min=1, help="From the published vocabulary (docs/data-sharing.md).")
    ] = 1,
    duration: Annotated[int, typer.Option("--duration", min=1, help="Grant lifetime in seconds.")] = 30 * 86400,
    max_accesses: Annotated[int, typer.Option("--max-accesses", min=0, help="Most accesses (0: no limit).")] = 0,
    no_onward_sharing: Annotated[
        bool, typer.Option("--no-onward-sharing", help="Acknowledge on chain not to pass the data on.")
    ] = False,
    row_filter: Annotated[
        Path | None, typer.Option("--row-filter", help='A row filter document (JSON: {"all": [...]}).')
    ] = None,
    schema: SchemaOpt = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Request access to another department's dataset under usage terms. The dataset's table
    schema (``--schema``, else this gateway's copy) gives the fields' positions."""
    from ledger.data import Terms, field_mask, mask_fields
    from ledger.data import row_filter as rf
    from ledger.data.purposes import purpose as vocabulary
    from ledger.data.table_schema import field_names
    from ledger.fund.docs import open_store

    ds = env().data_sharing()
    table = _dataset_schema(dataset, schema)
    names = field_names(table)
    mask = field_mask(names, fields.split(",") if fields else names)
    docs = open_store(env().settings)
    drafts = [docs.draft("purpose", purpose)]
    filter_hash = None
    if row_filter is not None:
        doc = json.loads(read_file(row_filter))
        rf.parse(doc, table)
        drafts.append(docs.draft("row_filter", rf.document_text(doc)))
        filter_hash = rf.row_filter_hash(doc)
    use = vocabulary(purpose_code)
    terms = Terms(purpose_code, drafts[0].hash, mask, duration, filter_hash, max_accesses, no_onward_sharing)
    signer = env().signer(key, password_file)
    r = docs.transact(ds.ledger, signer, ds.request_access_call(dataset, terms), drafts)
    rid = int(r.event("AccessRequested").args["requestId"])
    docs.accept(r)
    out.ok(
        f"request {rid} on dataset {dataset} for fields {','.join(mask_fields(names, mask))}, purpose "
        f"{use.code} {use.zh} ({use.en}); tx {r.tx_hash}, gas {r.gas_used}"
    )


def _dataset_schema(dataset: int, schema: Path | None) -> dict[str, Any]:
    """The dataset's table schema: the ``--schema`` file (checked against the chain's hash), else
    this gateway's copy."""
    from ledger.data import canonical_hash
    from ledger.errors import LedgerError, ValidationFailed

    ds = env().data_sharing().dataset(dataset)
    given = _schema(schema)
    if given is not None:
        if canonical_hash(given) != ds.schema_hash:
            raise ValidationFailed("schema", f"not dataset {dataset}'s registered table schema")
        return dict(given)
    gw = _gateway()
    try:
        gw.schema_fields(ds)
        return dict(gw.store.meta(ds.owner_id, ds.content_hash).table_schema)
    except LedgerError as exc:
        raise ValidationFailed("schema", "this gateway has no copy of the dataset's schema: pass --schema") from exc


@data_app.command("narrow")
def narrow(
    grant_id: Annotated[int, typer.Argument(help="Grant id.")],
    key: KeyOpt,
    fields: Annotated[str | None, typer.Option("--fields", help="A subset of the grant's fields.")] = None,
    max_accesses: Annotated[int | None, typer.Option("--max-accesses", min=1, help="A lower limit.")] = None,
    expires_at: Annotated[int | None, typer.Option("--expires-at", help="An earlier end (unix seconds).")] = None,
    schema: SchemaOpt = None,
    password_file: PasswordFileOpt = None,
) -> None:
    """Narrow a grant's terms without a new approval (the owner or the grantee): each term no
    wider than now, one narrower. Widening takes a new request."""
    from ledger.data import field_mask, mask_fields
    from ledger.data.table_schema import field_names

    ds = env().data_sharing()
    g = ds.grant(grant_id)
    names = field_names(_dataset_schema(g.dataset_id, schema)) if fields else ()
    mask = field_mask(names, fields.split(",")) if fields else g.field_mask
    limit = g.max_accesses if max_accesses is None else max_accesses
    end = g.expires_at if expires_at is None else expires_at
    r = ds.narrow(env().signer(key, password_file), grant_id, mask, limit, end)
    n = r.event("GrantNarrowed").args
    shown = ",".join(mask_fields(names, int(n["fieldMask"]))) if names else hex(int(n["fieldMask"]))
    out.ok(
        f"grant {grant_id} narrowed: fields {shown}, at most {int(n['maxAccesses']) or 'unlimited'} accesses, "
        f"until {out.when(int(n['expiresAt']))}; tx {r.tx_hash}, gas {r.gas_used}"
    )


@data_app.command("approve")
def approve(
    request_id: Annotated[int, typer.Argument(help="Request id.")],
    key: KeyOpt,
    governance: Annotated[
        bool, typer.Option("--governance", help="Approve as data governance (sensitive/secret).")
    ] = False,
    password_file: PasswordFileOpt = None,
) -> None:
    """Approve a request as the dataset's owner (or, with --governance, as data governance)."""
    ds = env().data_sharing()
    signer = env().signer(key, password_file)
    r = ds.approve_as_governance(signer, request_id) if governance else ds.approve_as_owner(signer, request_id)
    req = ds.request(request_id)
    out.ok(
        f"request {request_id} is {req.state.name.lower()}"
        + (f"; grant {req.grant_id}" if req.grant_id else "")
        + f"; tx {r.tx_hash}, gas {r.gas_used}"
    )


@data_app.command("deny")
def deny(
    request_id: Annotated[int, typer.Argument(help="Request id.")],
    key: KeyOpt,
    reason_code: Annotated[int, typer.Option("--reason-code", min=0, max=65535)] = 0,
    password_file: PasswordFileOpt = None,
) -> None:
    """Deny an open request on one of your datasets, with a reason code."""
    r = env().data_sharing().deny(env().signer(key, password_file), request_id, reason_code)
    out.ok(f"request {request_id} denied; tx {r.tx_hash}, gas {r.gas_used}")


@data_app.command("renew")
def renew(
    grant_id: Annotated[int, typer.Argument(help="Grant id.")],
    extension: Annotated[int, typer.Option("--extension", min=1, help="Seconds added to the expiry.")],
    key: KeyOpt,
    approve: Annotated[
        bool,
        typer.Option(
            "--approve", help="As data governance: approve the grant's pending renewal of exactly --extension seconds."
        ),
    ] = False,
    password_file: PasswordFileOpt = None,
) -> None:
    """Renew a grant on one of your datasets (a sensitive or secret grant's renewal then waits for
    data governance), or with --approve, approve a pending renewal as data governance."""
    ds = env().data_sharing()
    signer = env().signer(key, password_file)
    r = ds.approve_renewal(signer, grant_id, extension) if approve else ds.renew(signer, grant_id, extension)
    pending = ds.renewal(grant_id)
    if pending is not None:
        out.ok(
            f"grant {grant_id}: the renewal of {out.duration(pending.extension)} waits for data governance "
            f"(`cogov data renew {grant_id} --extension {pending.extension} --approve`); "
            f"tx {r.tx_hash}, gas {r.gas_used}"
        )
        return
    expires = out.when(ds.grant(grant_id).expires_at)
    out.ok(f"grant {grant_id} now expires at {expires}; tx {r.tx_hash}, gas {r.gas_used}")


@data_app.command("revoke")
def revoke(
    grant_id: Annotated[int, typer.Argument(help="Grant id.")], key: KeyOpt, password_file: PasswordFileOpt = None
) -> None:
    """Revoke a grant on one of your datasets, at once."""
    r = env().data_sharing().revoke(env().signer(key, password_file), grant_id)
    out.ok(f"grant {grant_id} revoked; tx {r.tx_hash}, gas {r.gas_used}")


@data_app.command("freeze")
def freeze(
    key: KeyOpt,
    grant_id: Annotated[int | None, typer.Argument(help="Grant id (or use --member).")] = None,
    member: Annotated[int | None, typer.Option("--member", help="Freeze every grant of this member instead.")] = None,
    unfreeze: Annotated[bool, typer.Option("--unfreeze", help="Lift the freeze.")] = False,
    password_file: PasswordFileOpt = None,
) -> None:
    """Emergency freeze (or --unfreeze) of a grant or of a member (data governance)."""
    from ledger.errors import ValidationFailed

    ds = env().data_sharing()
    signer = env().signer(key, password_file)
    if (grant_id is None) == (member is None):
        raise ValidationFailed("target", "give a grant id or --member, not both")
    if member is not None:
        r = ds.unfreeze_member(signer, member) if unfreeze else ds.freeze_member(signer, member)
        what = f"member {member}"
    else:
        assert grant_id is not None
        r = ds.unfreeze_grant(signer, grant_id) if unfreeze else ds.freeze_grant(signer, grant_id)
        what = f"grant {grant_id}"
    out.ok(f"{what} {'unfrozen' if unfreeze else 'frozen'}; tx {r.tx_hash}, gas {r.gas_used}")


@data_app.command("grants")
def grants(
    dataset: Annotated[int | None, typer.Option("--dataset")] = None,
    grantee: Annotated[int | None, typer.Option("--grantee", help="Grantee member id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List grants (from the chain), newest first."""
    ds = env().data_sharing()
    rows = []
    for gid in range(ds.grant_count(), 0, -1):
        g = ds.grant(gid)
        if (dataset is None or g.dataset_id == dataset) and (grantee is None or g.grantee_id == grantee):
            rows.append(g)
    if as_json:
        out.emit_json([
            {
                **g.__dict__,
                "field_mask": hex(g.field_mask),
                "row_filter_hash": None if g.row_filter_hash is None else "0x" + g.row_filter_hash.hex(),
                "schema_hash": "0x" + g.schema_hash.hex(),
                "state": g.state.name.lower(),
            }
            for g in rows
        ])
        return
    out.table(
        ["grant", "dataset", "grantee", "state", "expires", "fields", "accesses", "max", "no onward"],
        [
            [g.id, g.dataset_id, g.grantee_id, g.state.name.lower(), out.when(g.expires_at), hex(g.field_mask),
             g.accesses, g.max_accesses or "-", "yes" if g.no_onward_sharing else "no"]
            for g in rows
        ],
    )


@data_app.command("fetch")
def fetch(
    dataset: Annotated[int, typer.Argument(help="Dataset id.")],
    key_file: Annotated[Path, typer.Option("--key-file", help="Your X25519 private key file (from `data keygen`).")],
    output: Annotated[Path, typer.Option("--out", help="Where to write the decrypted data.")],
    api: Annotated[
        str, typer.Option("--api", envvar="COGOV_API_URL", help="The owner's gateway (API base URL).")
    ] = "http://127.0.0.1:8000",
    fields: Annotated[
        str | None, typer.Option("--fields", help="Comma-separated fields, any of the grant's (default: all of them).")
    ] = None,
    grant: Annotated[int | None, typer.Option("--grant", help="Grant id (default: found for you).")] = None,
    envelope: Annotated[
        Path | None, typer.Option("--envelope", help="Decrypt a saved response instead of fetching.")
    ] = None,
) -> None:
    """Fetch shared data from the owner's gateway and decrypt it (API key from $COGOV_API_KEY)."""
    from eth_utils import keccak

    from ledger.errors import AccessDenied, ConfigError, IntegrityError, LedgerError
    from ledger.gateway import load_private_key, open_sealed

    priv = load_private_key(key_file)
    if envelope is not None:
        body: dict[str, Any] = json.loads(read_file(envelope))
    else:
        import httpx

        token = os.environ.get("COGOV_API_KEY")
        if not token:
            raise ConfigError("set COGOV_API_KEY to your API key (never pass it as an argument)")
        params: dict[str, Any] = {}
        if fields:
            params["fields"] = fields
        if grant:
            params["grant_id"] = grant
        try:
            resp = httpx.get(
                f"{api.rstrip('/')}/api/v1/datasets/{dataset}/data",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
        except httpx.HTTPError as exc:
            raise LedgerError(f"gateway at {api} is unreachable: {exc}") from exc
        if resp.status_code == 403:
            raise AccessDenied(resp.json().get("detail", "refused").removeprefix("access denied: "))
        if resp.status_code != 200:
            raise LedgerError(f"gateway answered {resp.status_code}: {resp.json().get('detail', resp.text)}")
        body = resp.json()
    plain = open_sealed(priv, body["envelope"])
    if "0x" + keccak(plain).hex() != body["envelope"]["header"]["payload_keccak256"]:
        raise IntegrityError("decrypted data does not match the authenticated payload hash")
    output.write_bytes(plain)
    h = body["envelope"]["header"]
    where = f"recorded in {h.get('access_tx')}"
    if body.get("receipt"):  # the access log's signed receipt: kept for `cogov data verify-receipt` and auditors
        kept = output.with_name(output.name + ".receipt.json")
        kept.write_text(json.dumps(body["receipt"], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        rc = body["receipt"]
        where = f"entry {rc.get('index')} of member {rc.get('log')}'s access log; its receipt is in {kept}"
    out.ok(
        f"wrote {h['rows']} rows ({len(plain)} bytes) of dataset {h['dataset_id']} v{h['version']} to {output}; "
        f"access #{body.get('seq', h.get('seq'))} of grant {h['grant_id']} {where}"
    )
