// Small SVG plots for reports: paired before/after bars, ranked horizontal bars and a line
// chart. Colours come from CSS classes (so both themes apply); every label is a text node.

import { s } from './dom.js';

const W = 520;

function title(text) { return s('text', { x: 0, y: 14, class: 'plot-title' }, text); }

/**
 * Before/after bars per metric: rows = [{label, before, after, format}], each pair scaled to
 * its own larger value (size and mIoU share no unit), with the after/before ratio beside it.
 */
export function pairBars(heading, rows) {
  rows = rows.filter((r) => typeof r.before === 'number' && typeof r.after === 'number');
  if (!rows.length) return null;
  const rowH = 44, top = 28, left = 120, barW = 280;
  const svg = s('svg', { class: 'plot', viewBox: `0 0 ${W} ${top + rows.length * rowH + 18}`, role: 'img', 'aria-label': heading });
  svg.append(title(heading));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const max = Math.max(Math.abs(r.before), Math.abs(r.after)) || 1;
    const bw = (v) => Math.max(1, (Math.abs(v) / max) * barW);
    const ratio = r.before ? r.after / r.before : null;
    svg.append(
      s('text', { x: 0, y: y + 22, class: 'plot-label' }, r.label),
      s('rect', { x: left, y: y + 4, width: bw(r.before), height: 15, rx: 2, class: 'bar-before' }),
      s('rect', { x: left, y: y + 21, width: bw(r.after), height: 15, rx: 2, class: 'bar-after' }),
      s('text', { x: left + bw(r.before) + 6, y: y + 16, class: 'plot-value' }, r.format(r.before)),
      s('text', { x: left + bw(r.after) + 6, y: y + 33, class: 'plot-value' }, r.format(r.after) + (ratio !== null ? `  (×${ratio.toFixed(2)})` : '')));
  });
  const ly = top + rows.length * rowH + 8;
  svg.append(
    s('rect', { x: left, y: ly, width: 10, height: 10, class: 'bar-before' }), s('text', { x: left + 14, y: ly + 9, class: 'plot-value' }, 'before'),
    s('rect', { x: left + 70, y: ly, width: 10, height: 10, class: 'bar-after' }), s('text', { x: left + 84, y: ly + 9, class: 'plot-value' }, 'after'));
  return svg;
}

/** Ranked horizontal bars: items = [{label, value}], largest first, at most `limit`. */
export function rankedBars(heading, items, format, { limit = 20, colourClass = 'bar-after' } = {}) {
  items = items.filter((x) => typeof x.value === 'number' && Number.isFinite(x.value));
  if (!items.length) return null;
  const shown = [...items].sort((a, b) => b.value - a.value).slice(0, limit);
  const rowH = 18, top = 28, left = 230, barW = 200;
  const max = Math.max(...shown.map((x) => Math.abs(x.value))) || 1;
  const svg = s('svg', { class: 'plot', viewBox: `0 0 ${W} ${top + shown.length * rowH + 6}`, role: 'img', 'aria-label': heading });
  svg.append(title(items.length > shown.length ? `${heading} (top ${shown.length} of ${items.length})` : heading));
  shown.forEach((x, i) => {
    const y = top + i * rowH;
    const label = x.label.length > 36 ? `…${x.label.slice(-35)}` : x.label;
    const w = Math.max(1, (Math.abs(x.value) / max) * barW);
    svg.append(
      s('text', { x: left - 6, y: y + 12, class: 'plot-label', 'text-anchor': 'end' }, s('title', {}, x.label), label),
      s('rect', { x: left, y: y + 2, width: w, height: 13, rx: 2, class: colourClass }),
      s('text', { x: left + w + 6, y: y + 13, class: 'plot-value' }, format(x.value)));
  });
  return svg;
}

function ticks(min, max, n = 4) {
  if (min === max) return [min];
  return Array.from({ length: n + 1 }, (_, i) => min + ((max - min) * i) / n);
}

/** A line chart: series = [{name, points: [[x, y], ...]}]. */
export function lineChart(heading, series, { xLabel = '', format = (v) => v.toFixed(3) } = {}) {
  series = series.filter((sr) => sr.points.length);
  if (!series.length) return null;
  const H = 220, left = 56, right = 16, top = 28, bottom = 34;
  const xs = series.flatMap((sr) => sr.points.map((p) => p[0]));
  const ys = series.flatMap((sr) => sr.points.map((p) => p[1]));
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const X = (x) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const Y = (y) => top + (1 - (y - y0) / (y1 - y0)) * (H - top - bottom);
  const svg = s('svg', { class: 'plot', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': heading });
  svg.append(title(heading));
  for (const t of ticks(y0, y1)) {
    svg.append(s('line', { x1: left, x2: W - right, y1: Y(t), y2: Y(t), class: 'grid' }),
      s('text', { x: left - 6, y: Y(t) + 4, class: 'plot-value', 'text-anchor': 'end' }, format(t)));
  }
  // Whole-number x values (epochs, steps) get whole-number ticks.
  const xTicks = xs.every(Number.isInteger)
    ? Array.from({ length: Math.floor((x1 - x0) / Math.max(1, Math.ceil((x1 - x0) / 6))) + 1 }, (_, i) => x0 + i * Math.max(1, Math.ceil((x1 - x0) / 6)))
    : ticks(x0, x1);
  for (const t of xTicks) {
    svg.append(s('text', { x: X(t), y: H - bottom + 16, class: 'plot-value', 'text-anchor': 'middle' }, Number.isInteger(t) ? String(t) : t.toFixed(1)));
  }
  svg.append(s('text', { x: (left + W - right) / 2, y: H - 4, class: 'plot-label', 'text-anchor': 'middle' }, xLabel));
  series.forEach((sr, i) => {
    const d = sr.points.map((p, j) => `${j ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: `line series-${i}` }));
    for (const p of sr.points) svg.append(s('circle', { cx: X(p[0]), cy: Y(p[1]), r: 2.5, class: `dot series-${i}` }));
    if (series.length > 1) svg.append(s('text', { x: W - right - 4, y: top + 14 + i * 14, class: `plot-value legend-${i}`, 'text-anchor': 'end' }, sr.name));
  });
  return svg;
}

/** Grouped before/after bars per class: classes = [{label, before, after}] (fractions). */
export function classPairs(heading, classes) {
  if (!classes.length) return null;
  const rowH = 22, top = 28, left = 110, barW = 300;
  const svg = s('svg', { class: 'plot', viewBox: `0 0 ${W} ${top + classes.length * rowH + 6}`, role: 'img', 'aria-label': heading });
  svg.append(title(heading));
  classes.forEach((c, i) => {
    const y = top + i * rowH;
    const bw = (v) => (typeof v === 'number' ? Math.max(1, v * barW) : 0);
    svg.append(
      s('text', { x: left - 6, y: y + 14, class: 'plot-label', 'text-anchor': 'end' }, c.label),
      s('rect', { x: left, y: y + 2, width: bw(c.before), height: 8, rx: 1, class: 'bar-before' }),
      s('rect', { x: left, y: y + 11, width: bw(c.after), height: 8, rx: 1, class: 'bar-after' }),
      s('text', { x: left + Math.max(bw(c.before), bw(c.after)) + 6, y: y + 15, class: 'plot-value' },
        `${typeof c.before === 'number' ? (c.before * 100).toFixed(1) : '–'} → ${typeof c.after === 'number' ? (c.after * 100).toFixed(1) : '–'}`));
  });
  return svg;
}
