// Chart: a labelled SVG bar chart (run durations, metrics). Values stay readable as text:
// every bar has a <title> and the figure carries a summary for screen readers.
import { h } from "../lib/dom.js";

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** barChart({label, unit, points: [{label, value, kind?}]}) → figure. */
export function barChart({ label, unit = "", points, width = 640, height = 180 }) {
  const max = Math.max(...points.map((p) => p.value), 1e-9);
  const pad = { left: 44, bottom: 22, top: 10 };
  const bw = Math.min(48, (width - pad.left) / Math.max(points.length, 1));
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": `${label}: ${points.map((p) => `${p.label} ${p.value.toFixed(1)}${unit}`).join(", ")}` });
  const plotH = height - pad.bottom - pad.top;
  svg.append(s("text", { x: 4, y: pad.top + 8, class: "axis" }, `${max.toFixed(1)}${unit}`));
  svg.append(s("text", { x: 4, y: height - pad.bottom, class: "axis" }, `0${unit}`));
  svg.append(s("line", { x1: pad.left, y1: height - pad.bottom, x2: width, y2: height - pad.bottom, class: "axis-line" }));
  points.forEach((p, i) => {
    const bh = (p.value / max) * plotH;
    const rect = s("rect", { x: pad.left + i * bw + 2, y: height - pad.bottom - bh, width: Math.max(bw - 4, 1), height: bh, class: `bar ${p.kind || ""}` });
    rect.append(s("title", {}, `${p.label}: ${p.value.toFixed(2)}${unit}`));
    svg.append(rect);
  });
  return h("figure", { class: "chart-box" }, svg, h("figcaption", {}, label));
}
