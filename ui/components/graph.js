// Graph of nodes and links (ontology classes and relationships, an entity's neighbourhood) as
// SVG, laid out by a small deterministic force simulation. Nodes are buttons: focus with Tab,
// choose with Enter or a click; `onSelect(node)` lets the page show details.
import { h } from "../lib/dom.js";

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Place nodes: circle start, then spring/repulsion steps (same input → same picture). */
function layout(nodes, links, width, height) {
  const n = nodes.length;
  const pos = nodes.map((_, i) => ({
    x: width / 2 + (width / 3) * Math.cos((2 * Math.PI * i) / Math.max(n, 1)),
    y: height / 2 + (height / 3) * Math.sin((2 * Math.PI * i) / Math.max(n, 1)),
  }));
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const edges = links.map((l) => [index.get(l.source), index.get(l.target)]).filter(([a, b]) => a !== undefined && b !== undefined && a !== b);
  const ideal = Math.min(width, height) / (Math.sqrt(n) + 1);
  for (let step = 0; step < 300; step++) {
    const force = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      const dx = pos[i].x - pos[j].x, dy = pos[i].y - pos[j].y;
      const d2 = Math.max(dx * dx + dy * dy, 1);
      const f = (ideal * ideal) / d2;
      force[i].x += dx * f; force[i].y += dy * f; force[j].x -= dx * f; force[j].y -= dy * f;
    }
    for (const [a, b] of edges) {
      const dx = pos[a].x - pos[b].x, dy = pos[a].y - pos[b].y;
      const d = Math.sqrt(dx * dx + dy * dy) || 1;
      const f = (d - ideal) / d / 2;
      force[a].x -= dx * f; force[a].y -= dy * f; force[b].x += dx * f; force[b].y += dy * f;
    }
    const cool = 1 - step / 300;
    pos.forEach((p, i) => {
      p.x = Math.min(width - 70, Math.max(70, p.x + Math.max(-20, Math.min(20, force[i].x * 0.1)) * cool + (width / 2 - p.x) * 0.01));
      p.y = Math.min(height - 30, Math.max(30, p.y + Math.max(-20, Math.min(20, force[i].y * 0.1)) * cool + (height / 2 - p.y) * 0.01));
    });
  }
  return pos;
}

/**
 * graphView({label, nodes: [{id, label, detail?}], links: [{source, target, label}], onSelect})
 * → element (an <svg> in a figure, with a text list of the links for screen readers).
 */
export function graphView({ label, nodes, links, onSelect, width = 760, height = 420 }) {
  height = Math.min(height, 160 + nodes.length * 40);  // few nodes: no empty canvas
  const pos = layout(nodes, links, width, height);
  const at = new Map(nodes.map((node, i) => [node.id, pos[i]]));
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "graph", role: "group", "aria-label": label });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }))));
  for (const link of links) {
    const a = at.get(link.source), b = at.get(link.target);
    if (!a || !b) continue;
    if (a === b) {
      svg.append(s("path", { d: `M ${a.x + 20} ${a.y - 14} c 40 -50 60 10 10 14`, class: "link-line", "marker-end": "url(#arrow)" }));
      svg.append(s("text", { x: a.x + 48, y: a.y - 30, class: "link-label" }, link.label || ""));
      continue;
    }
    const dx = b.x - a.x, dy = b.y - a.y, d = Math.sqrt(dx * dx + dy * dy) || 1;
    const end = { x: b.x - (dx / d) * 34, y: b.y - (dy / d) * 18 };
    svg.append(s("line", { x1: a.x, y1: a.y, x2: end.x, y2: end.y, class: `link-line ${link.kind || ""}`, "marker-end": "url(#arrow)" }));
    svg.append(s("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4, class: "link-label", "text-anchor": "middle" }, link.label || ""));
  }
  const buttons = [];
  nodes.forEach((node, i) => {
    const p = pos[i];
    const text = node.label || node.id;
    const w = Math.max(60, text.length * 8 + 20);
    const g = s("g", { class: "node", tabindex: "0", role: "button", "aria-label": `${text}${node.detail ? ", " + node.detail : ""}`, transform: `translate(${p.x - w / 2} ${p.y - 16})`, "data-id": node.id },
      s("rect", { width: w, height: 32, rx: 8 }),
      s("text", { x: w / 2, y: 21, "text-anchor": "middle" }, text));
    const choose = () => {
      buttons.forEach((b) => b.classList.remove("selected"));
      g.classList.add("selected");
      onSelect?.(node);
    };
    g.addEventListener("click", choose);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
    buttons.push(g);
    svg.append(g);
  });
  const described = h("details", { class: "graph-text" }, h("summary", {}, "Links as text"),
    h("ul", {}, links.map((l) => h("li", {}, `${l.source} → ${l.label || "link"} → ${l.target}`))));
  return h("figure", { class: "graph-box" }, svg, h("figcaption", {}, label), described);
}
