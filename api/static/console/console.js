// The member console's JavaScript: plain ES modules, no build step. Pages work without it, except
// the live transaction status (which then shows the state at the page's load) and the decryption.
import { followTx } from "./tx.js";
import { setUpFetch } from "./fetch.js";
import { followAuditRun } from "./audit.js";
import { setUpRaise } from "./reports.js";
import { labelCells } from "./tables.js";

document.querySelectorAll("[data-tx-status]").forEach(followTx);
document.querySelectorAll("[data-fetch]").forEach(setUpFetch);
document.querySelectorAll("[data-audit-run]").forEach(followAuditRun);
document.querySelectorAll("[data-raise]").forEach(setUpRaise);
document.querySelectorAll(".table-wrap table").forEach(labelCells);
