// Data table: sortable columns, cursor paging ("Load more" asks the page for the next page)
// and CSV download of what is loaded. Cells may be text or DOM nodes (buttons, links).
import { download, h } from "../lib/dom.js";

function text(value) {
  if (value === null || value === undefined) return "";
  if (value instanceof Node) return value.textContent;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function csvCell(value) {
  const s = text(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * dataTable({caption, columns: [{key, label, render?}], rows, nextCursor, loadMore(cursor),
 * filename, empty}) → element. `render(row)` may return a node; sorting and CSV use the raw value.
 */
export function dataTable({ caption, columns, rows = [], nextCursor = null, loadMore = null, filename = "rows.csv", empty = "Nothing here yet." }) {
  if (!columns) {
    const keys = new Set();
    rows.forEach((r) => Object.keys(r).forEach((k) => keys.add(k)));
    columns = [...keys].map((key) => ({ key, label: key }));
  }
  let data = [...rows];
  let cursor = nextCursor;
  let sort = { key: null, dir: 1 };
  const tbody = h("tbody", {});
  const headRow = h("tr", {});
  const status = h("p", { class: "table-status", "aria-live": "polite" });
  const more = h("button", { class: "secondary", type: "button" }, "Load more");
  const csv = h("button", { class: "secondary", type: "button" }, "Download CSV");

  function draw() {
    tbody.replaceChildren();
    const sorted = sort.key ? [...data].sort((a, b) => {
      const x = a[sort.key], y = b[sort.key];
      if (typeof x === "number" && typeof y === "number") return (x - y) * sort.dir;
      return text(x).localeCompare(text(y), undefined, { numeric: true }) * sort.dir;
    }) : data;
    for (const row of sorted) {
      tbody.append(h("tr", {}, columns.map((c) => h("td", { "data-label": c.label }, c.render ? c.render(row) : text(row[c.key])))));
    }
    if (!data.length) tbody.append(h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty)));
    status.textContent = `${data.length} row${data.length === 1 ? "" : "s"}${cursor ? " loaded, more available" : ""}`;
    more.hidden = !(cursor && loadMore);
    headRow.querySelectorAll("th").forEach((th) => {
      const key = th.dataset.key;
      th.setAttribute("aria-sort", sort.key === key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  for (const column of columns) {
    const button = h("button", { type: "button", class: "sort" }, column.label);
    button.addEventListener("click", () => {
      sort = { key: column.key, dir: sort.key === column.key ? -sort.dir : 1 };
      draw();
    });
    headRow.append(h("th", { scope: "col", dataset: { key: column.key } }, column.sortable === false ? column.label : button));
  }
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await loadMore(cursor);
      if (page) {
        data = data.concat(page.rows);
        cursor = page.nextCursor;
        draw();
      }
    } finally {
      more.disabled = false;
    }
  });
  csv.addEventListener("click", () => {
    const lines = [columns.map((c) => csvCell(c.label)).join(",")];
    for (const row of data) lines.push(columns.map((c) => csvCell(row[c.key])).join(","));
    download(filename, lines.join("\r\n") + "\r\n", "text/csv");
  });
  draw();
  return h("div", { class: "data-table" },
    h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": caption || "Table" },
      h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, headRow), tbody)),
    h("div", { class: "table-tools" }, status, more, csv));
}
