// Drop or pick an image → model/segment with the image inline (base64) and no outputDir, so
// the mask and overlay come back inline as PNG data. Switching variant segments the same
// image again; every answer is logged with the model that served it and its latency.

import { h, clear, ms, pct, classColour } from './dom.js';
import { variantKind } from './models.js';

/** base64 of a byte array, in chunks (String.fromCharCode has an argument limit). */
export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const ACCEPTED = /\.(png|jpe?g)$/i;

export class SegmentPanel {
  constructor(ctx, root) {
    this.ctx = ctx;
    this.root = root;
    this.image = null;          // {name, data (base64), url}
    this.seq = 0;               // answers shown so far
    this.inflight = null;
    this.drop = root.querySelector('#drop-zone');
    this.fileInput = root.querySelector('#image-input');
    this.result = root.querySelector('#seg-result');
    this.log = root.querySelector('#answers tbody');
    this.status = root.querySelector('#seg-status');

    this.fileInput.addEventListener('change', () => { if (this.fileInput.files[0]) this.take(this.fileInput.files[0]); });
    this.drop.addEventListener('click', () => this.fileInput.click());
    this.drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); this.fileInput.click(); } });
    for (const type of ['dragenter', 'dragover']) {
      this.drop.addEventListener(type, (e) => { e.preventDefault(); this.drop.classList.add('dragging'); });
    }
    for (const type of ['dragleave', 'drop']) this.drop.addEventListener(type, () => this.drop.classList.remove('dragging'));
    this.drop.addEventListener('drop', (e) => {
      e.preventDefault();
      const file = [...(e.dataTransfer?.files || [])][0];
      if (file) this.take(file);
    });
    root.querySelector('#seg-again').addEventListener('click', () => this.run());
    ctx.events.addEventListener('model-selected', (e) => { if (e.detail.changed && this.image) this.run(); });
  }

  async take(file) {
    if (!ACCEPTED.test(file.name) && !/^image\/(png|jpeg)$/.test(file.type)) {
      this.ctx.showError('Reading the image', new Error(`${file.name}: segslimd reads PNG and JPEG images`));
      return;
    }
    const buffer = await file.arrayBuffer();
    this.image = { name: file.name, data: toBase64(buffer) };
    this.drop.querySelector('.drop-file').textContent = `${file.name} · ${(file.size / 1024).toFixed(0)} KiB`;
    this.run();
  }

  async run() {
    const id = this.ctx.models.active;
    if (!this.image) { this.ctx.showError('Segmenting', new Error('drop or pick an image first')); return; }
    if (!id) { this.ctx.showError('Segmenting', new Error('no model is resident: load one first')); return; }
    if (this.inflight) this.inflight.cancel();  // only the newest answer matters
    const params = { id, images: [{ data: this.image.data, name: this.image.name }], mask: true, overlay: true };
    const started = performance.now();
    const call = this.ctx.rpc.call('model/segment', params);
    this.inflight = call;
    this.root.dataset.busy = 'true';
    this.status.textContent = `segmenting with ${id}…`;
    try {
      const answer = await call.result;
      const latency = performance.now() - started;
      if (this.inflight !== call) return;
      this.show(id, answer, latency);
    } catch (e) {
      if (this.inflight === call) this.status.textContent = '';
      this.ctx.showError(`Segmenting with ${id}`, e);
    } finally {
      if (this.inflight === call) { this.inflight = null; delete this.root.dataset.busy; }
    }
  }

  show(id, answer, latency) {
    const r = answer.results[0];
    const info = this.ctx.models.info(id);
    const palette = info?.preprocessing?.palette;
    const family = this.ctx.models.familyOf(id);
    const kind = variantKind(info, family && family.root.id === id);
    this.seq += 1;
    const server = r.timings ? r.timings.decodeMs + r.timings.preprocessMs + r.timings.inferMs + r.timings.postprocessMs : null;
    this.status.textContent = '';
    clear(this.result);
    this.result.dataset.model = id;
    this.result.dataset.seq = String(this.seq);
    const picture = (field, label) => (r[field] && r[field].data
      ? h('figure', { class: 'seg-figure' },
        h('img', { id: `seg-${field}`, src: `data:image/png;base64,${r[field].data}`, alt: `${label} of ${r.image}`, width: r.width, height: r.height }),
        h('figcaption', {}, label))
      : null);
    this.result.append(
      h('div', { class: 'answer-head' },
        h('span', { class: 'badge', dataset: { kind } }, kind),
        h('span', {}, 'served by '), h('strong', { id: 'seg-served-by' }, id),
        h('span', { class: 'muted' }, ` · ${r.width}×${r.height} · `),
        h('strong', { id: 'seg-latency' }, ms(latency)),
        h('span', { class: 'muted' }, server !== null ? ` round trip (server ${ms(server)}, model ${ms(r.timings.inferMs)})` : ' round trip')),
      h('div', { class: 'figures' }, picture('overlay', 'overlay'), picture('mask', 'mask')),
      this.legend(r.classes || [], palette));
    for (const w of answer.warnings || []) this.result.append(h('p', { class: 'warning' }, w));
    this.log.prepend(h('tr', {},
      h('td', {}, String(this.seq)), h('td', {}, r.image), h('td', {}, h('span', { class: 'badge', dataset: { kind } }, kind), ' ', id),
      h('td', { class: 'num' }, ms(latency)), h('td', { class: 'num' }, r.timings ? ms(r.timings.inferMs) : '–'),
      h('td', { class: 'num' }, String((r.classes || []).length))));
    while (this.log.children.length > 12) this.log.lastChild.remove();
  }

  legend(classes, palette) {
    const list = h('ul', { class: 'legend', id: 'seg-legend', 'aria-label': 'classes in the mask' });
    for (const c of classes) {
      const bar = h('span', { class: 'legend-bar' }, h('span', { class: 'legend-fill', style: { width: pct(c.fraction, 2), background: classColour(palette, c.id) } }));
      list.append(h('li', { dataset: { classId: String(c.id) } },
        h('span', { class: 'swatch', style: { background: classColour(palette, c.id) } }),
        h('span', { class: 'legend-name' }, c.class ?? `class ${c.id}`),
        bar,
        h('span', { class: 'legend-pct num' }, pct(c.fraction))));
    }
    return list;
  }
}
