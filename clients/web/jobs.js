// Compress and pipeline jobs: a technique (from technique/list) with JSON parameters, or a
// list of steps, run on the chosen model with progress and a cancel button. The answer's
// report opens in the report panel and the new model joins the variants.

import { h, clear, progressBar } from './dom.js';

function parseJSON(text, field, expect) {
  if (!text.trim()) return undefined;
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${field}: not JSON (${e.message})`);
  }
  if (expect === 'object' && (v === null || typeof v !== 'object' || Array.isArray(v))) throw new Error(`${field}: expected a JSON object`);
  if (expect === 'array' && !Array.isArray(v)) throw new Error(`${field}: expected a JSON array of {technique, params}`);
  return v;
}

export class JobsPanel {
  constructor(ctx, root) {
    this.ctx = ctx;
    this.root = root;
    this.call = null;
    this.techniques = [];
    this.form = root.querySelector('#job-form');
    this.cancelButton = root.querySelector('#job-cancel');
    this.out = root.querySelector('#job-result');
    this.progress = progressBar('Job progress');
    this.progress.el.id = 'job-progress';
    root.querySelector('#job-progress-slot').append(this.progress.el);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.run(); });
    this.form.addEventListener('change', (e) => { if (e.target.name === 'kind' || e.target.name === 'technique') this.updateForm(); });
    this.cancelButton.addEventListener('click', () => { if (this.call) this.call.cancel(); });
    root.querySelector('#job-example').addEventListener('click', () => this.fillExample());
    ctx.events.addEventListener('connected', () => this.loadTechniques());
    this.updateForm();
  }

  async loadTechniques() {
    try {
      const { techniques } = await this.ctx.rpc.request('technique/list');
      this.techniques = techniques;
      const select = this.form.elements.technique;
      const previous = select.value;
      clear(select).append(...techniques.map((t) => h('option', { value: t.id }, t.id)));
      if (techniques.some((t) => t.id === previous)) select.value = previous;
      this.updateForm();
    } catch (e) {
      this.ctx.showError('Listing techniques', e);
    }
  }

  get kind() { return this.form.elements.kind.value; }

  updateForm() {
    this.root.dataset.kind = this.kind;
    const t = this.techniques.find((x) => x.id === this.form.elements.technique.value);
    const about = this.root.querySelector('#technique-about');
    clear(about);
    if (t && this.kind === 'compress') {
      about.append(h('span', {}, t.summary));
      if (t.needs && t.needs.length) about.append(h('span', { class: 'muted' }, ` · needs ${t.needs.join(', ')}`));
    }
  }

  fillExample() {
    const f = this.form.elements;
    const t = this.techniques.find((x) => x.id === f.technique.value);
    if (this.kind === 'compress') {
      const ex = t?.examples?.[0];
      f.params.value = JSON.stringify(ex ? ex.parameters : {}, null, 1);
    } else {
      f.steps.value = JSON.stringify([{ technique: 'fuse', params: {} }, { technique: 'quantize', params: {} }], null, 1);
    }
  }

  buildParams(id) {
    const f = this.form.elements;
    const params = { id };
    if (this.kind === 'compress') {
      params.technique = f.technique.value;
      if (!params.technique) throw new Error('pick a technique');
      const p = parseJSON(f.params.value, 'params', 'object');
      if (p !== undefined) params.params = p;
    } else {
      const steps = parseJSON(f.steps.value, 'steps', 'array');
      if (!steps || !steps.length) throw new Error('steps: give at least one {technique, params}');
      params.steps = steps;
    }
    if (f.dataset.value.trim()) params.dataset = f.dataset.value.trim();
    if (f.newId.value.trim()) params.newId = f.newId.value.trim();
    if (f.outputPath.value.trim()) params.outputPath = f.outputPath.value.trim();
    const extra = parseJSON(f.extra.value, 'more options', 'object');
    return extra ? { ...params, ...extra } : params;
  }

  async run() {
    const id = this.ctx.models.active;
    if (!id) { this.ctx.showError('Starting a job', new Error('no model is resident: load one first')); return; }
    let params;
    try {
      params = this.buildParams(id);
    } catch (e) {
      this.ctx.showError('Starting a job', e);
      return;
    }
    const method = this.kind === 'compress' ? 'model/compress' : 'model/pipeline';
    this.progress.reset();
    clear(this.out).append(h('p', { class: 'muted' }, `${method} on ${id} running…`));
    this.root.dataset.state = 'running';
    this.form.querySelector('button[type=submit]').disabled = true;
    this.cancelButton.disabled = false;
    const call = this.ctx.rpc.call(method, params, { onProgress: (v) => this.progress.set(v) });
    this.call = call;
    try {
      const r = await call.result;
      this.root.dataset.state = 'done';
      this.progress.set(null, `done · made ${r.id}`);
      clear(this.out).append(h('p', {}, 'Made ', h('strong', {}, r.id), r.path ? ` · ${r.path}` : ' (in memory)'),
        h('button', { type: 'button', class: 'link', onclick: () => this.ctx.openReport(r, `${method} → ${r.id}`) }, 'Open its report'));
      this.ctx.openReport(r, `${method} → ${r.id}`);
      await this.ctx.models.refresh();
    } catch (e) {
      this.root.dataset.state = e.cancelled ? 'cancelled' : 'failed';
      this.progress.set(null, e.cancelled ? 'cancelled' : 'failed');
      clear(this.out).append(h('p', { class: e.cancelled ? 'muted' : 'error' }, e.cancelled ? 'Job cancelled: nothing was written.' : e.message));
      this.ctx.showError(method, e);
    } finally {
      this.call = null;
      this.form.querySelector('button[type=submit]').disabled = false;
      this.cancelButton.disabled = true;
    }
  }
}
