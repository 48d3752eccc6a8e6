// Reports as tables and plots: what model/compress, model/pipeline, model/evaluate,
// model/sensitivity and model/train answer (or a `.report.json` they wrote), opened from a
// job in this page or from a file. Unknown fields are not an error: the raw JSON is always
// there below the tables, and per-layer data and training curves are found wherever a
// technique put them in its details.

import { h, clear, bytes, count, ms, pct } from './dom.js';
import { pairBars, rankedBars, lineChart, classPairs } from './plots.js';
import { metricsTable, iouBars } from './evaluate.js';

const num = (v) => typeof v === 'number' && Number.isFinite(v);

/** Visits every object and array under `value` with its path (depth-limited). */
function walk(value, visit, path = [], depth = 0) {
  if (depth > 10 || value === null || typeof value !== 'object') return;
  visit(value, path);
  for (const [k, v] of Object.entries(value)) walk(v, visit, [...path, k], depth + 1);
}

/** Arrays of per-layer records with a numeric `key` and a name (layer, node, tensor or name). */
function layerSeries(report, key) {
  const found = [];
  walk(report, (v, path) => {
    if (!Array.isArray(v) || v.length < 2) return;
    const items = v.filter((x) => x && typeof x === 'object' && num(x[key]))
      .map((x) => ({ label: String(x.layer ?? x.node ?? x.tensor ?? x.name ?? '?') + (x.setting !== undefined ? ` @ ${x.setting}` : ''), value: x[key] }));
    if (items.length >= 2) found.push({ path: path.join('.'), items });
  });
  return found;
}

/** The first object below the top with `before` and `after` model facts (sizeBytes). */
function findCompressReport(value) {
  let found = null;
  walk(value, (v, path) => {
    if (found || !path.length || Array.isArray(v)) return;
    if (v.before && v.after && num(v.before.sizeBytes) && num(v.after.sizeBytes)) found = { ...v, __path: path.join('.') };
  });
  return found;
}

/** Training histories: arrays of {epoch?, loss, ...}. */
function histories(report) {
  const found = [];
  walk(report, (v, path) => {
    if (!Array.isArray(v) || !v.length || !v.every((x) => x && typeof x === 'object' && num(x.loss))) return;
    found.push({ path: path.join('.'), items: v });
  });
  return found;
}

function table(head, rows, { id, numeric = [] } = {}) {
  return h('table', { class: 'data', id },
    h('thead', {}, h('tr', {}, head.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, c ?? '–'))))));
}

function change(before, after, lowerIsBetter = true) {
  if (!num(before) || !num(after) || before === 0) return '–';
  const r = after / before;
  const better = lowerIsBetter ? r < 1 : r > 1;
  return h('span', { class: r === 1 ? 'muted' : better ? 'good' : 'bad' }, `×${r.toFixed(3)}`);
}

function compressSections(r) {
  const b = r.before || {}, a = r.after || {};
  const ev = r.evaluation || {};
  const lat = r.latency || {};
  const out = [];
  out.push(h('h3', {}, 'Before and after'));
  out.push(table(['', 'before', 'after', 'change'], [
    ['size', bytes(b.sizeBytes), bytes(a.sizeBytes), change(b.sizeBytes, a.sizeBytes)],
    ['params', count(b.params), count(a.params), change(b.params, a.params)],
    ['MACs', count(b.macs), count(a.macs), change(b.macs, a.macs)],
    ['nodes', b.nodes, a.nodes, change(b.nodes, a.nodes)],
    ['latency p50', ms(lat.beforeP50Ms), ms(lat.afterP50Ms), change(lat.beforeP50Ms, lat.afterP50Ms)],
    ['mIoU', pct(ev.before?.miou, 2), pct(ev.after?.miou, 2), change(ev.before?.miou, ev.after?.miou, false)],
    ['pixel accuracy', pct(ev.before?.pixelAccuracy, 2), pct(ev.after?.pixelAccuracy, 2), change(ev.before?.pixelAccuracy, ev.after?.pixelAccuracy, false)],
  ], { id: 'report-compare', numeric: [1, 2, 3] }));
  const plots = [];
  const plot = pairBars('Before → after', [
    { label: 'size', before: b.sizeBytes, after: a.sizeBytes, format: bytes },
    { label: 'MACs', before: b.macs, after: a.macs, format: count },
    { label: 'latency p50', before: lat.beforeP50Ms, after: lat.afterP50Ms, format: ms },
    { label: 'mIoU', before: ev.before?.miou, after: ev.after?.miou, format: (v) => pct(v, 2) },
  ]);
  if (plot) plots.push(plot);
  const perClass = (ev.before?.perClassIoU || []).map((c, i) => ({ label: c.class ?? `class ${i}`, before: c.iou, after: ev.after?.perClassIoU?.[i]?.iou }));
  const classes = classPairs(`Per-class IoU on ${ev.split ?? 'the split'} (%)`, perClass);
  if (classes) plots.push(classes);
  if (plots.length) out.push(h('div', { class: 'plots' }, plots));
  const ops = [...new Set([...Object.keys(b.opCounts || {}), ...Object.keys(a.opCounts || {})])].sort();
  if (ops.length) {
    out.push(h('details', {}, h('summary', {}, `Operators (${ops.length} types)`),
      table(['op', 'before', 'after'], ops.map((o) => [o, b.opCounts?.[o] ?? 0, a.opCounts?.[o] ?? 0]), { numeric: [1, 2] })));
  }
  if ((r.steps || []).length) {
    out.push(h('h3', {}, 'Steps'), table(['#', 'technique', 'parameters'],
      r.steps.map((st, i) => [String(i + 1), st.technique, h('code', {}, JSON.stringify(st.parameters ?? {}))])));
  }
  if ((r.budgetMisses || []).length) {
    out.push(h('h3', {}, 'Budgets not met'), table(['technique', 'parameter', 'limit', 'achieved', 'note'],
      r.budgetMisses.map((m) => [m.technique, m.parameter, String(m.limit), String(m.achieved), m.note])));
  }
  return out;
}

function sensitivitySections(r) {
  const out = [];
  if (r.baseline) out.push(h('p', {}, `Baseline mIoU ${pct(r.baseline.miou, 2)} on ${r.baseline.images ?? '?'} images`));
  return out;
}

/** Names for several series found in one JSON: nothing for one, else the shortest distinct prefix of their paths. */
function seriesNames(paths) {
  if (paths.length < 2) return paths.map(() => '');
  const parts = paths.map((p) => p.split('.'));
  for (let n = 1; n <= Math.max(...parts.map((x) => x.length)); n++) {
    const names = parts.map((x) => x.slice(0, n).join('.'));
    if (new Set(names).size === names.length) return names.map((x) => ` · ${x}`);
  }
  return paths.map((p) => ` · ${p}`);
}

function perLayerSections(r) {
  const out = [];
  const drops = layerSeries(r, 'miouDrop');
  seriesNames(drops.map((x) => x.path)).forEach((name, i) => {
    out.push(rankedBars(`Per-layer sensitivity: mIoU drop${name}`, drops[i].items, (v) => `${(v * 100).toFixed(2)} pt`, { colourClass: 'bar-bad' }));
  });
  const sqnr = layerSeries(r, 'sqnrDb');
  seriesNames(sqnr.map((x) => x.path)).forEach((name, i) => {
    // The least faithful layers are the interesting ones: rank by how low the SQNR is.
    const items = sqnr[i].items.map((x) => ({ label: x.label, value: -x.value }));
    out.push(rankedBars(`Per-layer SQNR, lowest first${name}`, items, (v) => `${(-v).toFixed(1)} dB`, { colourClass: 'bar-before' }));
  });
  return out.filter(Boolean);
}

function trainingSections(r) {
  const out = [];
  const found = histories(r);
  seriesNames(found.map((x) => x.path)).forEach((name, i) => {
    const items = found[i].items;
    const x = (e, j) => (num(e.epoch) ? e.epoch : j + 1);
    out.push(lineChart(`Training loss${name}`, [{ name: 'loss', points: items.map((e, j) => [x(e, j), e.loss]) }], { xLabel: 'epoch' }));
    const key = ['valMiou', 'miou', 'valMIoU'].find((k) => items.some((e) => num(e[k])));
    if (key) {
      const points = items.map((e, j) => [x(e, j), e[key]]).filter((p) => num(p[1]));
      out.push(lineChart(`Validation mIoU${name}`, [{ name: key, points }], { xLabel: 'epoch', format: (v) => pct(v, 1) }));
    }
  });
  return out.filter(Boolean);
}

/** The sections for one report JSON (a method's answer, or its report file). */
export function renderReport(json) {
  const made = json && typeof json.report === 'object' && json.report !== null ? { id: json.id, path: json.path } : null;
  const r = made ? json.report : json;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('a report is a JSON object');
  const out = [];
  const facts = [
    ['technique', r.technique], ['made', made ? `${made.id}${made.path ? ` · ${made.path}` : ''}` : null],
    ['source', r.source ? `${r.source.id ?? ''}${r.source.path ? ` · ${r.source.path}` : ''}` : null],
    ['model', !made && r.id && !r.technique ? r.id : null], ['split', r.split],
    ['took', num(r.durationMs) ? ms(r.durationMs) : null], ['tool', r.toolVersion],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (facts.length) out.push(h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', { class: 'fact' }, h('dt', {}, k), h('dd', {}, String(v))))));
  let known = false;
  // A compress/pipeline report, at the top or inside a larger record (a benchmark's results).
  const compress = r.before && r.after ? r : findCompressReport(r);
  if (compress) {
    if (compress !== r) out.push(h('p', { class: 'muted' }, `Compress report found at ${compress.__path}`));
    out.push(...compressSections(compress));
    known = true;
  }
  if (num(r.miou) && Array.isArray(r.perClassIoU)) { out.push(metricsTable(r), h('h3', {}, 'Per-class IoU'), iouBars(r.perClassIoU)); known = true; }
  if (r.baseline && Array.isArray(r.layers)) { out.push(...sensitivitySections(r)); known = true; }
  const layers = perLayerSections(r);
  const curves = trainingSections(r);
  if (layers.length) out.push(h('h3', {}, 'Per layer'), h('div', { class: 'plots' }, layers));
  if (curves.length) out.push(h('h3', {}, 'Training'), h('div', { class: 'plots' }, curves));
  if (!known && !layers.length && !curves.length) {
    out.push(h('p', { class: 'muted' }, 'No sizes, metrics, per-layer data or training curve found in this JSON; the raw JSON is below.'));
  }
  for (const w of r.warnings || []) out.push(h('p', { class: 'warning' }, w));
  out.push(h('details', { class: 'raw' }, h('summary', {}, 'Raw JSON'), h('pre', {}, JSON.stringify(json, null, 1))));
  return out;
}

export class ReportPanel {
  constructor(ctx, root) {
    this.ctx = ctx;
    this.root = root;
    this.body = root.querySelector('#report-body');
    this.heading = root.querySelector('#report-title');
    const input = root.querySelector('#report-input');
    input.addEventListener('change', async () => {
      const file = input.files[0];
      if (!file) return;
      try {
        this.show(JSON.parse(await file.text()), file.name);
      } catch (e) {
        ctx.showError(`Opening ${file.name}`, e);
      }
      input.value = '';
    });
  }

  show(json, title) {
    let sections;
    try {
      sections = renderReport(json);
    } catch (e) {
      this.ctx.showError(`Showing ${title}`, e);
      return;
    }
    this.heading.textContent = title;
    clear(this.body).append(...sections);
    this.root.dataset.loaded = 'true';
    this.root.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }
}
