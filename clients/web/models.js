// Resident models and their variants: the model picker, loading a model by server path, and
// the light-mode switch between a model and the variants made from it (FP32 / INT8 / pruned /
// student).
//
// A variant is a resident model that (a) was compressed from the chosen one in this daemon
// (`derivedFrom`, followed transitively), (b) names the chosen model's file as its source
// (`segslim.source` metadata, which compress writes and the shipped variants carry), or
// (c) is a file beside it whose name extends its stem (`m.onnx` → `m.int8.onnx`): the shipped
// variants were made in several steps, so their recorded source may be an intermediate file.

import { h, clear, bytes, count, progressBar } from './dom.js';

function baseName(path) {
  return typeof path === 'string' ? path.split('/').pop() : '';
}

function stem(path) {
  return baseName(path).replace(/\.onnx$/i, '');
}

/** FP32 / INT8 / pruned / student / the technique's name, from what the model says about itself. */
export function variantKind(info, isRoot) {
  const ops = (info && info.opCounts) || {};
  const meta = (info && info.metadata) || {};
  const name = baseName(info && info.path).toLowerCase() + ' ' + (info ? info.id.toLowerCase() : '');
  const made = `${meta['segslim.technique'] || ''} ${meta['segslim.parameters'] || ''}`.toLowerCase();
  if (ops.QuantizeLinear || ops.DequantizeLinear || ops.QLinearConv || ops.ConvInteger || /int8|qat|quantiz/.test(made + name)) return 'INT8';
  if (/prun/.test(made + name)) return 'pruned';
  if (/student|distill/.test(made + name)) return 'student';
  if (isRoot) return 'FP32';
  return meta['segslim.technique'] || 'variant';
}

export class ModelsPanel {
  constructor(ctx, root) {
    this.ctx = ctx;
    this.root = root;
    this.list = [];              // model/list entries
    this.infos = new Map();      // id → {loadedAtMs, info}
    this.families = [];          // [{root: entry, variants: [entry...]}] (variants include the root)
    this.baseId = null;          // the chosen model (a family root)
    this.activeId = null;        // the variant answering requests
    this.select = root.querySelector('#model-select');
    this.switch = root.querySelector('#variant-switch');
    this.facts = root.querySelector('#model-facts');
    this.loadProgress = progressBar('Loading model');
    root.querySelector('#load-progress').append(this.loadProgress.el);
    this.select.addEventListener('change', () => this.choose(this.select.value));
    root.querySelector('#load-form').addEventListener('submit', (e) => { e.preventDefault(); this.load(); });
    root.querySelector('#models-refresh').addEventListener('click', () => this.refresh());
  }

  info(id) { return this.infos.get(id)?.info ?? null; }

  /** The model requests should go to (the chosen variant). */
  get active() { return this.activeId; }

  async refresh() {
    this.root.dataset.refreshing = 'true';
    try {
      const { models } = await this.ctx.rpc.request('model/list');
      this.list = models;
      await Promise.all(models.map(async (m) => {
        const known = this.infos.get(m.id);
        if (known && known.loadedAtMs === m.loadedAtMs) return;
        const info = await this.ctx.rpc.request('model/info', { id: m.id });
        this.infos.set(m.id, { loadedAtMs: m.loadedAtMs, info });
      }));
      for (const id of [...this.infos.keys()]) if (!models.some((m) => m.id === id)) this.infos.delete(id);
      this.families = this.group(models);
      this.render();
      this.ctx.modelsChanged();
    } catch (e) {
      this.ctx.showError('Listing models', e);
    } finally {
      delete this.root.dataset.refreshing;
    }
  }

  /** Splits resident models into families: roots with their variants. */
  group(models) {
    const byId = new Map(models.map((m) => [m.id, m]));
    const parent = new Map();
    for (const m of models) {
      if (m.derivedFrom && byId.has(m.derivedFrom)) { parent.set(m.id, m.derivedFrom); continue; }
      const meta = this.info(m.id)?.metadata || {};
      const source = meta['segslim.source'];
      const candidates = models.filter((o) => o.id !== m.id && !o.derivedFrom && o.path && m.path);
      const bySource = source ? candidates.find((o) => baseName(o.path) === source) : null;
      const byStem = candidates.find((o) => baseName(m.path).startsWith(`${stem(o.path)}.`));
      const p = bySource || byStem;
      if (p) parent.set(m.id, p.id);
    }
    const rootOf = (id) => {
      const seen = new Set();
      while (parent.has(id) && !seen.has(id)) { seen.add(id); id = parent.get(id); }
      return id;
    };
    const families = new Map();
    for (const m of models) {
      const r = rootOf(m.id);
      if (!families.has(r)) families.set(r, { root: byId.get(r), variants: [] });
      families.get(r).variants.push(m);
    }
    for (const f of families.values()) f.variants.sort((a, b) => (a.id === f.root.id ? -1 : b.id === f.root.id ? 1 : a.loadedAtMs - b.loadedAtMs));
    return [...families.values()];
  }

  familyOf(id) { return this.families.find((f) => f.variants.some((v) => v.id === id)) || null; }

  render() {
    clear(this.select);
    if (!this.families.length) {
      this.select.append(h('option', { value: '' }, 'no resident model: load one below'));
      this.select.disabled = true;
    } else {
      this.select.disabled = false;
      for (const f of this.families) {
        const n = f.variants.length - 1;
        this.select.append(h('option', { value: f.root.id }, f.root.id + (n ? `  (+${n} variant${n === 1 ? '' : 's'})` : '')));
      }
    }
    const family = this.familyOf(this.activeId) || this.familyOf(this.baseId) || this.families[0] || null;
    this.baseId = family ? family.root.id : null;
    if (!family || !family.variants.some((v) => v.id === this.activeId)) this.activeId = this.baseId;
    if (this.baseId) this.select.value = this.baseId;
    this.renderSwitch(family);
    this.renderFacts();
    this.renderResident();
    this.ctx.events.dispatchEvent(new CustomEvent('model-selected', { detail: { id: this.activeId, changed: false } }));
  }

  /** Every resident model, with its family and an unload button. */
  renderResident() {
    const body = this.root.querySelector('#resident tbody');
    clear(body);
    for (const f of this.families) {
      for (const v of f.variants) {
        const isRoot = v.id === f.root.id;
        body.append(h('tr', { dataset: { id: v.id } },
          h('td', { title: v.path || '(in memory)' }, v.id),
          h('td', {}, isRoot ? '–' : f.root.id),
          h('td', {}, variantKind(this.info(v.id), isRoot)),
          h('td', { class: 'num' }, bytes(v.residentBytes)),
          h('td', {}, h('button', { type: 'button', class: 'ghost small', onclick: () => this.unload(v.id) }, 'Unload'))));
      }
    }
  }

  async unload(id) {
    try {
      await this.ctx.rpc.request('model/unload', { id });
      if (this.activeId === id) this.activeId = null;
      await this.refresh();
    } catch (e) {
      this.ctx.showError(`Unloading ${id}`, e);
    }
  }

  renderSwitch(family) {
    clear(this.switch);
    if (!family) return;
    for (const v of family.variants) {
      const kind = variantKind(this.info(v.id), v.id === family.root.id);
      const input = h('input', { type: 'radio', name: 'variant', value: v.id, id: `variant-${v.id}`, checked: v.id === this.activeId });
      input.addEventListener('change', () => this.activate(v.id));
      this.switch.append(h('label', { class: 'variant', for: `variant-${v.id}`, title: v.path || v.id, dataset: { kind, id: v.id } },
        input, h('span', { class: 'variant-kind' }, kind), h('span', { class: 'variant-id' }, v.id)));
    }
  }

  renderFacts() {
    clear(this.facts);
    const info = this.info(this.activeId);
    if (!info) return;
    const rows = [
      ['model', info.id], ['file', info.path || '(in memory)'], ['size', bytes(info.sizeBytes)],
      ['params', count(info.params)], ['MACs', count(info.macs)],
      ['input', (info.inputs || []).map((i) => `${i.name} ${i.dtype} [${(i.shape || []).join('×')}]`).join(', ')],
      ['classes', (info.preprocessing?.classes || []).length || '–'],
    ];
    this.facts.append(...rows.map(([k, v]) => h('div', { class: 'fact' }, h('dt', {}, k), h('dd', {}, String(v)))));
    for (const w of info.warnings || []) this.facts.append(h('p', { class: 'warning' }, w));
  }

  choose(rootId) {
    const family = this.families.find((f) => f.root.id === rootId);
    if (!family) return;
    this.baseId = rootId;
    this.renderSwitch(family);
    this.activate(rootId);
  }

  activate(id) {
    if (this.activeId === id) return;
    this.activeId = id;
    const input = this.switch.querySelector(`input[value="${CSS.escape(id)}"]`);
    if (input) input.checked = true;
    this.renderFacts();
    this.ctx.events.dispatchEvent(new CustomEvent('model-selected', { detail: { id, changed: true } }));
  }

  async load() {
    const form = this.root.querySelector('#load-form');
    const path = form.elements.path.value.trim();
    const id = form.elements.id.value.trim();
    if (!path) { this.ctx.showError('Loading a model', new Error('give the model file\'s path on the server')); return; }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    this.root.dataset.loading = 'true';
    this.loadProgress.reset();
    try {
      const info = await this.ctx.rpc.request('model/load', { path, ...(id ? { id } : {}), reuse: !id },
        { onProgress: (v) => this.loadProgress.set(v) });
      this.loadProgress.set(null, `loaded ${info.id}`);
      this.infos.set(info.id, { loadedAtMs: null, info });
      await this.refresh();
      // A new family is chosen; a new variant of the chosen family becomes the active one.
      const family = this.familyOf(info.id);
      if (family) {
        if (family.root.id !== this.baseId) this.choose(family.root.id);
        this.activate(info.id);
      }
      form.elements.id.value = '';
    } catch (e) {
      this.loadProgress.reset();
      this.ctx.showError(`Loading ${path}`, e);
    } finally {
      button.disabled = false;
      delete this.root.dataset.loading;
    }
  }
}
