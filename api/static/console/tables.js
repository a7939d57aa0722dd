// At phone width console.css shows each table row as a card, one cell under another: each cell is
// labelled here with its column's header (data-label, shown before the cell's content), so a row's
// actions sit on the screen instead of at the end of a table scrolled sideways.
export function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  table.querySelectorAll("tbody tr").forEach((tr) => {
    [...tr.cells].forEach((cell, i) => {
      if (heads[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
    });
  });
}
