// Follow an audit run live (running -> done or failed): blocks scanned of the total, events so far,
// through the console's status route (the API's GET /api/v1/audit/runs/{id}).
import { poll } from "./poll.js";

export function followAuditRun(box) {
  const url = box.getAttribute("data-audit-run");
  const badge = box.querySelector("[data-testid=run-state]");
  const field = (name) => box.querySelector(`[data-field=${name}]`);
  if (!url || !badge || badge.getAttribute("data-state") !== "running") return;
  poll(url, (st) => {
    badge.setAttribute("data-state", st.state);
    badge.className = `badge state-${st.state}`;
    badge.textContent = box.getAttribute(`data-label-${st.state}`) || st.state;
    field("phase").textContent = st.state === "running" ? st.phase : "";
    field("bar").max = st.blocks_total || 1;
    field("bar").value = st.blocks_scanned;
    field("blocks").textContent = `${st.blocks_scanned} / ${st.blocks_total}`;
    field("events").textContent = String(st.events);
    if (st.problem) {
      field("problem").textContent = st.problem;
      field("problem").hidden = false;
    }
    field("done").hidden = st.state !== "done";
    return st.state === "running";
  }, 500);
}
