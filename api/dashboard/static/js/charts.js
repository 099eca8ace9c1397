// Small charts drawn with d3 (scales, shapes, axes; vendored): bars that link to the filtered list, and
// a time series against a band (temperature against the cargo's range).

import { t, fmtNum } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
function el(tag, attrs = {}) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  return e;
}

// About 6.5 px per Latin character at the charts' label size, twice that for CJK: enough to cut a label
// that would run off the chart's left edge (the full text stays in the bar's tooltip).
function fitLabel(text, px) {
  const widthOf = (ch) => (/[\u2e80-\u9fff\uff00-\uffef]/.test(ch) ? 13 : 6.5);
  let used = 0;
  const out = [];
  for (const ch of text) {
    used += widthOf(ch);
    if (used > px) return out.join("").replace(/\s+$/, "") + "\u2026";
    out.push(ch);
  }
  return text;
}

/**
 * Horizontal bars: rows [{label, value, href?, tone?, raw?}] -> an SVG whose bars are links.
 * `raw` labels (codes, names from the API) are marked translate="no"; others go through t().
 */
export function barChart(rows, { label, digits = 0, width = 340 } = {}) {
  const d3 = window.d3;
  const barH = 22;
  const left = Math.min(150, width * 0.36);
  const height = Math.max(1, rows.length) * barH + 6;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "bar-chart", role: "img", "aria-label": t(label || "Chart") });
  const max = d3.max(rows, (r) => Number(r.value) || 0) || 1;
  const x = d3.scaleLinear().domain([0, max]).range([0, width - left - 56]);
  rows.forEach((r, i) => {
    const y = 3 + i * barH;
    const group = r.href ? el("a", { href: r.href, class: "bar-link" }) : el("g");
    const name = el("text", { x: left - 6, y: y + barH / 2 + 4, "text-anchor": "end", class: "bar-label" });
    const full = r.raw ? r.label : t(r.label);
    name.textContent = fitLabel(full, left - 12);
    if (r.raw) name.setAttribute("translate", "no");
    const bar = el("rect", { x: left, y: y + 3, width: Math.max(1.5, x(Number(r.value) || 0)), height: barH - 6, rx: 2, class: `bar tone-${r.tone || "moving"}` });
    const value = el("text", { x: left + x(Number(r.value) || 0) + 5, y: y + barH / 2 + 4, class: "bar-value" });
    value.textContent = fmtNum(r.value, digits);
    const title = el("title");
    title.textContent = `${full}: ${value.textContent}`;
    group.append(title, name, bar, value);
    svg.append(group);
  });
  return svg;
}

/** A line of [Date, value] points; `band` [lo, hi] shaded (the allowed range); `label` names the series. */
export function lineChart(points, { band, label, unit = "", width = 460, height = 150 } = {}) {
  const d3 = window.d3;
  const m = { top: 8, right: 10, bottom: 22, left: 40 };
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "line-chart", role: "img", "aria-label": t(label || "Chart") });
  const x = d3.scaleUtc().domain(d3.extent(points, (p) => p[0])).range([m.left, width - m.right]);
  const values = points.map((p) => p[1]).concat(band || []);
  const y = d3.scaleLinear().domain(d3.extent(values)).nice().range([height - m.bottom, m.top]);
  if (band) {
    svg.append(el("rect", { x: m.left, width: width - m.left - m.right, y: y(band[1]), height: Math.max(0, y(band[0]) - y(band[1])), class: "band" }));
  }
  const line = d3.line().x((p) => x(p[0])).y((p) => y(p[1]));
  svg.append(el("path", { d: line(points), class: "series" }));
  for (const tick of y.ticks(4)) {
    const text = el("text", { x: m.left - 4, y: y(tick) + 4, "text-anchor": "end", class: "tick" });
    text.textContent = `${fmtNum(tick, 0)}${unit}`;
    svg.append(text, el("line", { x1: m.left, x2: width - m.right, y1: y(tick), y2: y(tick), class: "grid-line" }));
  }
  for (const tick of x.ticks(4)) {
    const text = el("text", { x: x(tick), y: height - 6, "text-anchor": "middle", class: "tick", translate: "no" });
    text.textContent = tick.toISOString().slice(5, 16).replace("T", " ");
    svg.append(text);
  }
  return svg;
}
