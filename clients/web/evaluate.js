// model/evaluate on a dataset folder (a path on the server) with a live progress bar from
// `$/progress`, a cancel button, and the per-class IoU as bars.

import { h, clear, ms, pct, progressBar, classColour } from './dom.js';

export function metricsTable(r) {
  const rows = [
    ['mIoU', pct(r.miou, 2)], ['pixel accuracy', pct(r.pixelAccuracy, 2)], ['mean accuracy', pct(r.meanAccuracy, 2)],
    ['mean Dice', pct(r.meanDice, 2)], ['kappa', typeof r.kappa === 'number' ? r.kappa.toFixed(3) : '–'],
    ['images', r.images ?? '–'], ['latency p50', ms(r.latency?.p50Ms)], ['images / s', r.imagesPerSecond ?? '–'],
  ];
  return h('dl', { class: 'metrics' }, rows.map(([k, v]) => h('div', { class: 'metric' }, h('dt', {}, k), h('dd', {}, String(v)))));
}

/** Horizontal bars, one per class: [{class, iou}] (IoU is a fraction). */
export function iouBars(perClass, palette) {
  const list = h('ul', { class: 'bars', 'aria-label': 'per-class IoU' });
  perClass.forEach((c, i) => {
    const value = typeof c.iou === 'number' ? c.iou : null;
    list.append(h('li', { class: 'bar-row' },
      h('span', { class: 'bar-label' }, c.class ?? `class ${i}`),
      h('span', { class: 'bar-track' },
        h('span', { class: 'bar-fill', style: { width: value === null ? '0%' : pct(value, 2), background: classColour(palette, i) } })),
      h('span', { class: 'bar-value num' }, value === null ? 'n/a' : pct(value))));
  });
  return list;
}

export class EvaluatePanel {
  constructor(ctx, root) {
    this.ctx = ctx;
    this.root = root;
    this.call = null;
    this.form = root.querySelector('#eval-form');
    this.cancelButton = root.querySelector('#eval-cancel');
    this.out = root.querySelector('#eval-result');
    this.progress = progressBar('Evaluation progress');
    this.progress.el.id = 'eval-progress';
    root.querySelector('#eval-progress-slot').append(this.progress.el);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.run(); });
    this.cancelButton.addEventListener('click', () => { if (this.call) this.call.cancel(); });
  }

  async run() {
    const id = this.ctx.models.active;
    const f = this.form.elements;
    const dataset = f.dataset.value.trim();
    if (!id) { this.ctx.showError('Evaluating', new Error('no model is resident: load one first')); return; }
    if (!dataset) { this.ctx.showError('Evaluating', new Error('give a dataset folder on the server (or an open dataset\'s id)')); return; }
    const params = { id, dataset };
    if (f.split.value.trim()) params.split = f.split.value.trim();
    if (f.limit.value.trim()) {
      const n = Number(f.limit.value);
      if (!Number.isInteger(n) || n < 1) { this.ctx.showError('Evaluating', new Error('limit: a whole number of images, at least 1')); return; }
      params.limit = n;
    }
    this.progress.reset();
    clear(this.out);
    this.root.dataset.state = 'running';
    this.form.querySelector('button[type=submit]').disabled = true;
    this.cancelButton.disabled = false;
    const call = this.ctx.rpc.call('model/evaluate', params, { onProgress: (v) => this.progress.set(v) });
    this.call = call;
    try {
      const r = await call.result;
      this.root.dataset.state = 'done';
      this.progress.set(null, `done · ${r.images} images`);
      this.show(id, r);
    } catch (e) {
      this.root.dataset.state = e.cancelled ? 'cancelled' : 'failed';
      this.progress.set(null, e.cancelled ? 'cancelled' : 'failed');
      this.out.append(h('p', { class: e.cancelled ? 'muted' : 'error' }, e.cancelled ? 'Evaluation cancelled.' : e.message));
      this.ctx.showError(`Evaluating ${id}`, e);
    } finally {
      this.call = null;
      this.form.querySelector('button[type=submit]').disabled = false;
      this.cancelButton.disabled = true;
    }
  }

  show(id, r) {
    const palette = this.ctx.models.info(id)?.preprocessing?.palette;
    clear(this.out).append(
      h('p', { class: 'answer-head' }, h('strong', {}, r.id), ` on ${r.split} · ${r.images} images`),
      metricsTable(r),
      h('h3', {}, 'Per-class IoU'),
      iouBars(r.perClassIoU || [], palette),
      h('button', { type: 'button', class: 'link', onclick: () => this.ctx.openReport(r, `evaluation of ${r.id}`) }, 'Open as report'));
    for (const w of r.warnings || []) this.out.append(h('p', { class: 'warning' }, w));
  }
}
