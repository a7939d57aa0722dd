// Fetching shared data: the sealed answer is opened here, in the browser, with WebCrypto, exactly as
// ledger/gateway/crypto.py seals it: X25519 (ephemeral key epk, the member's key), HKDF-SHA256
// (salt = epk || recipient public key, info "cogov-gateway-seal-v1") to an AES-256-GCM key, the
// envelope's header (canonical JSON) as associated data. The private key file is read locally and
// never sent: the only request is the fetch itself. Without X25519 in WebCrypto the page shows the
// equivalent `cogov data fetch` command instead.
import { labelCells } from "./tables.js";

const INFO = new TextEncoder().encode("cogov-gateway-seal-v1");
const PKCS8_X25519 = "302e020100300506032b656e04220420"; // PKCS#8 prefix of a raw 32-byte X25519 key
const ALG = "X25519-HKDF-SHA256-AES-256-GCM";

const hex = (s) => Uint8Array.from(s.match(/../g).map((b) => parseInt(b, 16)));
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const concat = (a, b) => { const out = new Uint8Array(a.length + b.length); out.set(a); out.set(b, a.length); return out; };

// json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export async function hasX25519() {
  try {
    await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    return true;
  } catch (_) {
    return false;
  }
}

export async function openSealed(keyFile, envelope) {
  if (envelope.alg !== ALG) throw new Error(`unsupported envelope ${envelope.alg}`);
  if (keyFile.kind !== "cogov-x25519-private-key") throw new Error("not a cogov X25519 key file");
  const priv = await crypto.subtle.importKey("pkcs8", concat(hex(PKCS8_X25519), hex(keyFile.private_key)),
    { name: "X25519" }, false, ["deriveBits"]);
  const epk = b64(envelope.epk);
  const ephemeral = await crypto.subtle.importKey("raw", epk, { name: "X25519" }, false, []);
  const shared = await crypto.subtle.deriveBits({ name: "X25519", public: ephemeral }, priv, 256);
  const hkdf = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: concat(epk, hex(keyFile.public_key)), info: INFO },
    hkdf, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
  const aad = new TextEncoder().encode(canonical(envelope.header));
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: b64(envelope.nonce), additionalData: aad },
    key, b64(envelope.ciphertext));
  return new TextDecoder().decode(plain);
}

// The rows of a CSV (with a header row) or JSON-lines answer, as a header and cells.
export function table(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.length);
  if (lines.length && lines[0].startsWith("{")) {
    const rows = lines.map((l) => JSON.parse(l));
    const head = Object.keys(rows[0] || {});
    return [head, rows.map((r) => head.map((h) => String(r[h] ?? "")))];
  }
  const cells = (line) => {
    const out = []; let cur = ""; let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false; else cur += c;
      } else if (c === '"') quoted = true; else if (c === ",") { out.push(cur); cur = ""; } else cur += c;
    }
    out.push(cur);
    return out;
  };
  return [cells(lines[0] || ""), lines.slice(1).map(cells)];
}

function show(box, [head, rows]) {
  const t = document.createElement("table");
  t.setAttribute("data-testid", "decrypted");
  const thead = t.createTHead().insertRow();
  head.forEach((h) => { const th = document.createElement("th"); th.textContent = h; thead.append(th); });
  const body = t.createTBody();
  rows.forEach((r) => { const tr = body.insertRow(); r.forEach((c) => { tr.insertCell().textContent = c; }); });
  labelCells(t);
  box.replaceChildren(t);
}

export function setUpFetch(section) {
  const form = section.querySelector("[data-fetch-form]");
  const error = section.querySelector("[data-fetch-error]");
  const result = section.querySelector("[data-fetch-result]");
  const cli = section.querySelector("[data-fetch-cli]");
  const fail = (text) => { error.textContent = text; error.hidden = false; };
  const command = () => `cogov data fetch ${form.dataset.value || form.elements.dataset.value} --key-file KEY.json --out data.csv`;
  hasX25519().then((ok) => {
    if (ok) return;
    fail(section.getAttribute("data-no-x25519"));
    section.querySelector("[data-fetch-command]").textContent = command();
    cli.hidden = false;
    form.querySelector("button").disabled = true;
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    result.replaceChildren();
    const file = form.elements.key.files[0];
    if (!file) return;
    let keyFile;
    try {
      keyFile = JSON.parse(await file.text()); // read here; never sent anywhere
    } catch (_) {
      return fail(section.getAttribute("data-bad-key"));
    }
    const answer = await fetch(`/console/data/datasets/${form.elements.dataset.value}/fetch`, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": section.getAttribute("data-csrf"), Accept: "application/json" },
    });
    const body = await answer.json();
    if (!answer.ok) return fail(body.words || body.detail);
    try {
      show(result, table(await openSealed(keyFile, body.envelope)));
    } catch (_) {
      fail(section.getAttribute("data-bad-key"));
    }
  });
}
