// Follow a transaction live (pending -> mined -> confirmed, or failed and why) through the
// console's status route, the API's 202 + status flow.
import { poll } from "./poll.js";

const FINAL = new Set(["confirmed", "failed"]);

export function followTx(box) {
  const url = box.getAttribute("data-tx-status");
  const badge = box.querySelector("[data-testid=tx-state]");
  const field = (name) => box.querySelector(`[data-field=${name}]`);
  if (!url || !badge || FINAL.has(badge.getAttribute("data-state"))) return;
  poll(url, (st) => {
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
    return !FINAL.has(st.status);
  });
}
