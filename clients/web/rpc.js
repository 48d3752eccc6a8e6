// JSON-RPC 2.0 over a WebSocket: one message per text frame, the same messages segslimd speaks
// on stdio (protocol/README.md). Answers may come out of order, so every pending request is
// kept by id; `$/progress` is routed by the workDoneToken the request was sent with.

/** A JSON-RPC error answer, kept whole so the page can show its code and message. */
export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }

  get cancelled() { return this.code === RequestCancelled; }
}

export const RequestCancelled = -32800;

/**
 * One connection to segslimd. Events (EventTarget): `status` ({detail: {state, info?, error?}}
 * with state connecting | open | closed) and `notification` ({detail: message}) for
 * notifications other than `$/progress`.
 */
export class RpcClient extends EventTarget {
  constructor(url, { clientName = 'segslim-web', reconnect = true } = {}) {
    super();
    this.url = url;
    this.clientName = clientName;
    this.reconnect = reconnect;
    this.nextId = 1;
    this.pending = new Map();      // id → {resolve, reject, token}
    this.progress = new Map();     // workDoneToken → callback
    this.socket = null;
    this.state = 'closed';
    this.serverInfo = null;
    this.capabilities = null;
    this.retryMs = 500;
    this.ready = null;
  }

  /** Opens the socket and runs `initialize` / `initialized`; resolves with the initialize result. */
  connect() {
    this.ready = new Promise((resolve, reject) => {
      this.setState('connecting');
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch (e) {
        this.setState('closed', { error: String(e.message || e) });
        reject(e);
        return;
      }
      this.socket = socket;
      socket.addEventListener('open', async () => {
        try {
          const result = await this.request('initialize', {
            processId: null, clientInfo: { name: this.clientName, version: '1' },
          });
          this.notify('initialized', {});
          this.serverInfo = result.serverInfo;
          this.capabilities = result.capabilities;
          this.retryMs = 500;
          this.setState('open', { info: result });
          resolve(result);
        } catch (e) {
          reject(e);
        }
      });
      socket.addEventListener('message', (event) => this.receive(event.data));
      socket.addEventListener('close', (event) => {
        const why = event.code === 1000 ? 'closed' : `closed (code ${event.code}${event.reason ? ': ' + event.reason : ''})`;
        this.failPending(new RpcError(-32000, `connection ${why}`));
        this.setState('closed', { error: why });
        reject(new RpcError(-32000, `connection ${why}`));
        if (this.reconnect && this.socket === socket) {
          setTimeout(() => { if (this.socket === socket) this.connect().catch(() => {}); }, this.retryMs);
          this.retryMs = Math.min(this.retryMs * 2, 10000);
        }
      });
    });
    return this.ready;
  }

  close() {
    this.reconnect = false;
    if (this.socket) this.socket.close(1000);
  }

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('status', { detail: { state, ...extra } }));
  }

  /**
   * Sends a request. Returns {id, result: Promise, cancel()}. With `onProgress` a
   * workDoneToken is added to the params and every `$/progress` value for it is passed on.
   */
  call(method, params, { onProgress } = {}) {
    const id = this.nextId++;
    let token = null;
    const sent = params === undefined ? undefined : { ...params };
    if (onProgress) {
      token = `web-${id}`;
      this.progress.set(token, onProgress);
      Object.assign(sent, { workDoneToken: token });
    }
    const result = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, token });
    });
    const message = { jsonrpc: '2.0', id, method };
    if (sent !== undefined) message.params = sent;
    if (!this.send(message)) {
      this.settle(id, null, new RpcError(-32000, `not connected: ${method} was not sent`));
    }
    return { id, result, cancel: () => this.cancel(id) };
  }

  request(method, params, options) { return this.call(method, params, options).result; }

  notify(method, params) { this.send({ jsonrpc: '2.0', method, params }); }

  /** `$/cancelRequest`: the request then answers RequestCancelled (or its result, if it won). */
  cancel(id) {
    if (this.pending.has(id)) this.notify('$/cancelRequest', { id });
  }

  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (e) {
      console.warn('segslim: a frame that is not JSON', e);
      return;
    }
    for (const m of Array.isArray(message) ? message : [message]) this.dispatch(m);
  }

  dispatch(m) {
    if (m === null || typeof m !== 'object') return;
    if (m.method === '$/progress' && m.params) {
      const cb = this.progress.get(m.params.token);
      if (cb) cb(m.params.value || {});
      return;
    }
    if (m.method !== undefined) {
      if (m.id !== undefined && m.id !== null) {
        // segslimd sends no requests; answer one anyway so a future server is not left waiting.
        this.send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `client does not handle ${m.method}` } });
      } else {
        this.dispatchEvent(new CustomEvent('notification', { detail: m }));
      }
      return;
    }
    if (m.id === null || m.id === undefined) {
      // An error the server could not tie to a request (a frame it could not parse).
      const e = m.error || {};
      this.dispatchEvent(new CustomEvent('notification', { detail: { method: 'error', params: e } }));
      return;
    }
    if (m.error) this.settle(m.id, null, new RpcError(m.error.code, m.error.message, m.error.data));
    else this.settle(m.id, m.result, null);
  }

  settle(id, result, error) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.token !== null) this.progress.delete(p.token);
    if (error) p.reject(error); else p.resolve(result);
  }

  failPending(error) {
    for (const id of [...this.pending.keys()]) this.settle(id, null, error);
  }
}

/** The WebSocket URL for this page: same host, `/rpc`, the page's token passed on. */
export function rpcURL(location, token) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${location.host}/rpc${query}`;
}
