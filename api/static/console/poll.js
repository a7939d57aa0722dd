// Poll a console status route: `update(status)` with each JSON answer, again after `every` ms while
// it returns true; an error or a non-2xx answer is tried again after 2 s.
export function poll(url, update, every = 1000) {
  const tick = async () => {
    let st;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return setTimeout(tick, 2000);
      st = await answer.json();
    } catch (_) {
      return setTimeout(tick, 2000);
    }
    if (update(st)) setTimeout(tick, every);
  };
  setTimeout(tick, 300);
}
