// Follow an audit run live (running -> done or failed): blocks scanned of the total, events so far,
// through the console's status route (the API's GET /api/v1/audit/runs/{id}).
export function followAuditRun(box) {
  const url = box.getAttribute("data-audit-run");
  const badge = box.querySelector("[data-testid=run-state]");
  const field = (name) => box.querySelector(`[data-field=${name}]`);
  if (!url || !badge || badge.getAttribute("data-state") !== "running") return;
  const tick = async () => {
    let st;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return setTimeout(tick, 2000);
      st = await answer.json();
    } catch (_) {
      return setTimeout(tick, 2000);
    }
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
    if (st.state === "running") setTimeout(tick, 500);
    else if (st.state === "done") field("done").hidden = false;
  };
  setTimeout(tick, 300);
}
