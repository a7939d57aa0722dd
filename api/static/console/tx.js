// Follow a transaction live (pending -> mined -> confirmed, or failed and why) through the
// console's status route, the API's 202 + status flow.
const FINAL = new Set(["confirmed", "failed"]);

export function followTx(box) {
  const url = box.getAttribute("data-tx-status");
  const badge = box.querySelector("[data-testid=tx-state]");
  const field = (name) => box.querySelector(`[data-field=${name}]`);
  if (!url || !badge || FINAL.has(badge.getAttribute("data-state"))) return;
  const tick = async () => {
    let st;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return setTimeout(tick, 2000);
      st = await answer.json();
    } catch (_) {
      return setTimeout(tick, 2000);
    }
    badge.setAttribute("data-state", st.status);
    badge.className = `badge tx-${st.status}`;
    badge.textContent = box.getAttribute(`data-label-${st.status}`) || st.status;
    field("block_number").textContent = st.block_number ?? "—";
    field("confirmations").textContent = String(st.confirmations);
    const events = field("events");
    events.replaceChildren(...st.events.map((e) => {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = e.name;
      li.append(code);
      return li;
    }));
    if (st.words) {
      field("words").textContent = st.words;
      field("words").hidden = false;
    }
    if (!FINAL.has(st.status)) setTimeout(tick, 1000);
  };
  setTimeout(tick, 300);
}
