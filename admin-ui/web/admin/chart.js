// A small SVG line chart (no library): one series of {t: Date, v: number}, with axes, a few
// labelled ticks, and a text summary for screen readers. Colours come from CSS variables through
// classes styled in admin.css (no style attribute: the CSP forbids inline styles).
import { el } from '../dom.js';

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// points: [{t: Date, v: number}] oldest first; format(v) → label for a value.
export function lineChart(points, { title, format = String, width = 640, height = 220 } = {}) {
  const pad = { l: 70, r: 16, t: 12, b: 28 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'line-chart', role: 'img', 'aria-label': title, width: '100%', preserveAspectRatio: 'xMidYMid meet' });
  if (!points.length) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', fill: 'currentColor' }, 'No samples yet'));
    return el('figure', { class: 'chart' }, root, el('figcaption', { class: 'muted' }, `${title}: no samples yet.`));
  }
  const t0 = points[0].t.getTime();
  const t1 = Math.max(points[points.length - 1].t.getTime(), t0 + 1);
  const vmax = Math.max(1, ...points.map((p) => p.v)) * 1.1;
  const x = (t) => pad.l + ((t.getTime() - t0) / (t1 - t0)) * w;
  const y = (v) => pad.t + h - (v / vmax) * h;
  // Grid and value ticks.
  for (let i = 0; i <= 4; i += 1) {
    const v = (vmax * i) / 4;
    root.append(svg('line', { x1: pad.l, x2: pad.l + w, y1: y(v), y2: y(v), stroke: 'currentColor', 'stroke-opacity': 0.15 }));
    root.append(svg('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: 'currentColor' }, format(v)));
  }
  // Time ticks: start, middle, end.
  for (const t of [t0, (t0 + t1) / 2, t1]) {
    const d = new Date(t);
    const label = t1 - t0 > 2 * 86400e3 ? d.toLocaleDateString() : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    root.append(svg('text', { x: x(d), y: height - 8, 'text-anchor': t === t0 ? 'start' : t === t1 ? 'end' : 'middle', 'font-size': 11, fill: 'currentColor' }, label));
  }
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const area = `${d} L${x(points[points.length - 1].t).toFixed(1)},${pad.t + h} L${pad.l},${pad.t + h} Z`;
  root.append(svg('path', { d: area, class: 'area' }));
  root.append(svg('path', { d, class: 'line' }));
  const last = points[points.length - 1];
  root.append(svg('circle', { cx: x(last.t), cy: y(last.v), r: 3.5, class: 'dot' }));
  const first = points[0];
  const summary = `${title}: ${points.length} samples from ${first.t.toLocaleString()} (${format(first.v)}) to ${last.t.toLocaleString()} (${format(last.v)}).`;
  return el('figure', { class: 'chart' }, root, el('figcaption', { class: 'muted' }, summary));
}
