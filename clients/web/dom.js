// Building the page from data the server sent: every string goes in as a text node or an
// attribute value, never as markup, so a class name or an error message cannot inject HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'style') {
      // The CSP forbids inline style attributes; CSSOM properties set from script are allowed.
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h('div', {class: 'x'}, 'text', h('b', {}, 'bold')) */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// MARK: - formatting (units as the wire has them: fractions, ms, bytes)

export function pct(fraction, digits = 1) {
  return typeof fraction === 'number' ? `${(fraction * 100).toFixed(digits)}%` : '–';
}

export function ms(value) {
  if (typeof value !== 'number') return '–';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

export function bytes(n) {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function count(n) {
  if (typeof n !== 'number') return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** A colour for class `id` from the model's palette, or a fixed fallback hue. */
export function classColour(palette, id) {
  const c = Array.isArray(palette) ? palette[id] : null;
  if (Array.isArray(c) && c.length >= 3) return `rgb(${c[0] | 0}, ${c[1] | 0}, ${c[2] | 0})`;
  return `hsl(${(id * 137.5) % 360}, 55%, 50%)`;
}

/** A progress bar element pair; `set(value)` takes a `$/progress` value or a number 0...100. */
export function progressBar(label) {
  const fill = h('div', { class: 'progress-fill' });
  const text = h('span', { class: 'progress-text' }, '');
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 },
    fill, text);
  let title = '';
  let seen = [];
  function set(value, message) {
    if (typeof value === 'object' && value) {
      if (value.title) title = value.title;
      if (value.kind === 'begin') delete bar.dataset.ended;
      if (value.kind === 'end') bar.dataset.ended = 'true';
      message = value.message;
      value = value.percentage;
      // What the server reported, in order (the page's tests read it; the bar shows the last).
      if (typeof value === 'number') { seen.push(value); bar.dataset.seen = seen.join(','); }
    }
    if (typeof value === 'number') {
      const p = Math.max(0, Math.min(100, value));
      fill.style.setProperty('width', `${p}%`);
      bar.setAttribute('aria-valuenow', String(p));
      bar.dataset.percentage = String(p);
    }
    const parts = [title, message, typeof value === 'number' ? `${value}%` : null].filter(Boolean);
    if (parts.length) text.textContent = parts.join(' · ');
  }
  function reset() {
    title = '';
    seen = [];
    delete bar.dataset.seen;
    delete bar.dataset.ended;
    fill.style.setProperty('width', '0%');
    bar.setAttribute('aria-valuenow', '0');
    bar.dataset.percentage = '0';
    text.textContent = '';
  }
  return { el: bar, set, reset };
}
