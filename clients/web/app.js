// The page's entry point: connects to segslimd over the WebSocket the page was served beside,
// and wires the panels (models, segment, evaluate, jobs, report) to one shared context.

import { RpcClient, RpcError, rpcURL } from './rpc.js';
import { h, $, clear } from './dom.js';
import { ModelsPanel } from './models.js';
import { SegmentPanel } from './segment.js';
import { EvaluatePanel } from './evaluate.js';
import { JobsPanel } from './jobs.js';
import { ReportPanel } from './report.js';
import { initTheme } from './theme.js';

/** The token from `?token=` (kept for this tab, and taken out of the address bar). */
function takeToken() {
  const params = new URLSearchParams(window.location.search);
  let token = params.get('token');
  if (token) {
    sessionStorage.setItem('segslim-token', token);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', window.location.pathname + (rest ? `?${rest}` : '') + window.location.hash);
  } else {
    // A reload: the token is in this tab's storage (and the server's cookie covers the files).
    token = sessionStorage.getItem('segslim-token');
  }
  return token;
}

/** Errors are shown, never swallowed: JSON-RPC errors with their code, others with their text. */
function makeErrorReporter(area) {
  return function showError(context, error) {
    if (error instanceof RpcError && error.cancelled) return;  // the user asked for it
    const code = error instanceof RpcError ? ` (${error.code})` : '';
    const message = error && error.message ? error.message : String(error);
    const item = h('div', { class: 'toast', role: 'alert' },
      h('strong', {}, `${context} failed${code}`),
      h('span', { class: 'toast-message' }, message),
      h('button', { class: 'toast-close', type: 'button', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'),
      // Structured details (unsupported operators, memory figures) as JSON text.
      error instanceof RpcError && error.data !== undefined && error.data !== null
        ? h('details', { class: 'toast-data' }, h('summary', {}, 'details'), h('pre', {}, JSON.stringify(error.data, null, 1).slice(0, 4000)))
        : null);
    area.prepend(item);
    while (area.children.length > 5) area.lastChild.remove();
    console.error(context, error);
  };
}

function showStatus(detail, rpc) {
  const pill = $('#conn-status');
  pill.dataset.state = detail.state;
  const text = {
    connecting: 'connecting…',
    open: `connected · ${rpc.serverInfo ? `${rpc.serverInfo.name} ${rpc.serverInfo.version}` : ''}`,
    closed: `disconnected${detail.error ? ` · ${detail.error}` : ''}`,
  }[detail.state];
  pill.textContent = text;
}

async function refreshServerStatus(ctx) {
  try {
    const s = await ctx.rpc.request('server/status');
    const el = $('#server-facts');
    clear(el).append(`${s.models} model${s.models === 1 ? '' : 's'} resident · ${(s.residentBytes / 1048576).toFixed(1)} MiB · `
      + `${s.connections} connection${s.connections === 1 ? '' : 's'} · pid ${s.pid}`);
  } catch (e) {
    ctx.showError('server/status', e);
  }
}

function main() {
  initTheme($('#theme-toggle'));
  const token = takeToken();
  const rpc = new RpcClient(rpcURL(window.location, token));
  const events = new EventTarget();
  const ctx = {
    rpc,
    events,
    showError: makeErrorReporter($('#errors')),
    /** Called after every model/list: the server's figures in the top bar follow. */
    modelsChanged: () => events.dispatchEvent(new Event('models-changed')),
  };
  const report = new ReportPanel(ctx, $('#report'));
  ctx.openReport = (json, title) => report.show(json, title);
  const models = new ModelsPanel(ctx, $('#models'));
  ctx.models = models;
  new SegmentPanel(ctx, $('#segment'));
  new EvaluatePanel(ctx, $('#evaluate'));
  new JobsPanel(ctx, $('#jobs'));

  events.addEventListener('models-changed', () => refreshServerStatus(ctx));
  rpc.addEventListener('status', (e) => {
    showStatus(e.detail, rpc);
    document.body.dataset.connection = e.detail.state;
    if (e.detail.state === 'open') {
      models.refresh();
      events.dispatchEvent(new Event('connected'));
    }
  });
  rpc.addEventListener('notification', (e) => {
    const m = e.detail;
    if (m.method === 'error') ctx.showError('server', new RpcError(m.params.code, m.params.message, m.params.data));
  });
  rpc.connect().catch((e) => {
    const hint = token ? '' : ' (this page was opened without ?token=…: open the URL segslimd printed)';
    ctx.showError('Connecting', new Error(`${e.message || e}${hint}`));
  });
}

main();
