-- The connection to segslimd: started on first use with Neovim's own JSON-RPC client
-- (vim.lsp.rpc.start, LSP Content-Length framing), initialized before anything else is sent,
-- and started again by the next request after the daemon died.
local config = require('segslim.config')
local progress = require('segslim.progress')

local M = {}

M.REQUEST_CANCELLED = -32800
M.version = '0.1.0'

local conn = nil -- the live connection, or nil
local closing = {} -- connections asked to shut down whose daemon has not exited yet
local generation = 0 -- bumped on every start, so a late on_exit cannot clobber a newer daemon

local nn = require('segslim.json').nn

-- vim.lsp.rpc.start was start(cmd, cmd_args, dispatchers, extra) up to Nvim 0.9 and became
-- start(cmd_list, dispatchers, extra) in 0.10. The arity tells them apart even on builds whose
-- version string we do not know; the version is the fallback when LuaJIT cannot say.
local function rpc_start(cmd, dispatchers)
  local start = vim.lsp.rpc.start
  local info = debug.getinfo(start, 'u')
  local old_style
  if info and info.nparams then
    old_style = info.nparams >= 4
  else
    old_style = vim.fn.has('nvim-0.10') == 0
  end
  local ok, client
  if old_style then
    ok, client = pcall(start, cmd[1], vim.list_slice(cmd, 2), dispatchers)
  else
    ok, client = pcall(start, cmd, dispatchers)
  end
  if not ok then
    return nil, tostring(client)
  end
  if client == nil then -- 0.7 returns nil (after its own warning) when spawning fails
    return nil, 'spawning ' .. cmd[1] .. ' failed'
  end
  return client
end

local function terminate(c)
  local rpc = c.rpc
  if rpc.terminate then
    pcall(rpc.terminate)
  elseif rpc.handle and not rpc.handle:is_closing() then
    pcall(rpc.handle.kill, rpc.handle, 'sigterm')
  end
end

local function error_object(err)
  if type(err) ~= 'table' then
    return { message = tostring(err) }
  end
  return { code = nn(err.code), message = nn(err.message) or 'unknown error', data = nn(err.data) }
end

-- Calls the request's callback exactly once.
local function finish(req, err, result)
  if req.done then
    return
  end
  req.done = true
  req.err = err
  req.result = result
  if req.conn and req.id then
    req.conn.inflight[req.id] = nil
  end
  if req.token then
    progress.abort(req.token)
  end
  local ok, msg = pcall(req.callback, err, result)
  if not ok then
    vim.notify('segslim: error in the handler of ' .. req.method .. ': ' .. tostring(msg), vim.log.levels.ERROR)
  end
end

local function send(c, req)
  req.conn = c
  local ok, id = c.rpc.request(req.method, req.params, function(err, result)
    finish(req, err and error_object(err) or nil, nn(result))
  end, function()
    -- Neovim's client swallows RequestCancelled answers (they never reach the callback);
    -- this reply hook still fires, and runs before the callback would, so check afterwards.
    vim.schedule(function()
      if not req.done then
        finish(req, { code = M.REQUEST_CANCELLED, message = 'request cancelled' })
      end
    end)
  end)
  if not ok then
    finish(req, { message = 'segslimd is not running (its pipe is closed); the next command starts it again' })
    return
  end
  req.id = id
  c.inflight[id] = req
  if req.cancel_requested then
    c.rpc.notify('$/cancelRequest', { id = id })
  end
end

local function fail_all(c, err)
  local queue, inflight = c.queue, c.inflight
  c.queue, c.inflight = {}, {}
  for _, req in ipairs(queue) do
    finish(req, err)
  end
  for _, req in pairs(inflight) do
    finish(req, err)
  end
end

local function on_exit(c, code, signal)
  local current = conn == c
  if current then
    conn = nil
  end
  closing[c] = nil
  local what
  if c.shared then
    what = 'the connection to segslimd at ' .. c.source .. ' closed'
  else
    what = string.format('segslimd exited (code %s, signal %s)', tostring(code), tostring(signal))
  end
  what = what .. (c.shared and '; the next command connects again' or '; the next command starts it again')
  fail_all(c, { message = what })
  if current and not c.stopping then
    vim.notify('segslim: ' .. what, vim.log.levels.WARN)
  end
end

local function initialize(c)
  local params = {
    processId = vim.fn.getpid(),
    clientInfo = { name = 'segslim.nvim', version = M.version },
  }
  local ok = c.rpc.request('initialize', params, function(err, result)
    if conn ~= c then
      return
    end
    if err then
      local e = error_object(err)
      e.message = 'initialize failed: ' .. e.message
      c.init_error = e
      fail_all(c, e)
      c.stopping = true
      terminate(c)
      conn = nil
      return
    end
    result = nn(result) or {}
    c.server = nn(result.serverInfo)
    c.capabilities = nn(result.capabilities) or {}
    c.ready = true
    c.rpc.notify('initialized', vim.empty_dict())
    local queue = c.queue
    c.queue = {}
    for _, req in ipairs(queue) do
      send(c, req)
    end
  end)
  if not ok then
    return false
  end
  return true
end

-- The live connection, starting the daemon when there is none. nil and a message when it
-- cannot be started.
-- A daemon already listening on a Unix socket (segslimd --listen unix:PATH), through
-- vim.lsp.rpc.connect, which takes a socket path from Nvim 0.10 on.
local function rpc_connect(address, dispatchers)
  local path = type(address) == 'string' and address:match('^unix:(.+)$')
  if not path then
    return nil, string.format("setup{connect=...}: expected 'unix:PATH', got %s", vim.inspect(address))
  end
  if vim.fn.has('nvim-0.10') ~= 1 or vim.lsp.rpc.connect == nil then
    return nil, 'setup{connect=...} needs Neovim 0.10 or later (vim.lsp.rpc.connect to a Unix socket); '
      .. 'leave connect unset and the plugin starts its own segslimd'
  end
  local ok, client = pcall(function()
    return vim.lsp.rpc.connect(path)(dispatchers)
  end)
  if not ok then
    return nil, tostring(client)
  end
  return client
end

-- The live connection, starting the daemon (or connecting to it) when there is none. nil and
-- a message when that cannot be done.
function M.ensure()
  if conn then
    return conn
  end
  local opts = config.options
  local cmd, where
  if opts.connect then
    where = opts.connect
  else
    cmd, where = config.resolve_cmd()
    if not cmd then
      return nil, where
    end
    table.insert(cmd, '--log-level')
    table.insert(cmd, opts.log_level)
  end
  generation = generation + 1
  local c = {
    generation = generation, cmd = cmd, source = where, shared = opts.connect ~= nil,
    queue = {}, inflight = {}, ready = false,
  }
  local dispatchers = {
    notification = function(method, params)
      if method == '$/progress' then
        progress.handle(params)
      end
    end,
    on_exit = function(code, signal)
      -- Called from libuv's callback (not schedule-wrapped in every version).
      vim.schedule(function()
        on_exit(c, code, signal)
      end)
    end,
    on_error = function(code, e)
      local names = vim.lsp.rpc.client_errors or {}
      vim.notify(string.format('segslim: JSON-RPC client error %s: %s', tostring(names[code] or code), vim.inspect(e)),
        vim.log.levels.WARN)
    end,
  }
  local rpc, err
  if c.shared then
    rpc, err = rpc_connect(opts.connect, dispatchers)
  else
    rpc, err = rpc_start(cmd, dispatchers)
  end
  if not rpc then
    return nil, string.format('could not %s %s: %s', c.shared and 'connect to' or 'start', where, err)
  end
  c.rpc = rpc
  conn = c
  if not initialize(c) then
    conn = nil
    terminate(c)
    return nil, 'could not send initialize to ' .. where
  end
  -- A socket nobody listens on (or a daemon that hangs) never answers: do not queue forever.
  vim.defer_fn(function()
    if conn == c and not c.ready then
      conn = nil
      c.stopping = true
      fail_all(c, { message = string.format('%s did not answer initialize within %d ms', where, opts.timeout_ms) })
      terminate(c)
    end
  end, opts.timeout_ms)
  return c
end

-- Sends a request once the connection is initialized. callback(err, result) runs exactly once:
-- err is {code, message, data} (code nil for client-side failures). Returns the request handle.
function M.request(method, params, callback, opts)
  opts = opts or {}
  local req = { method = method, params = params, callback = callback, token = opts.token, done = false }
  local c, err = M.ensure()
  if not c then
    finish(req, { message = err })
    return req
  end
  if c.ready then
    send(c, req)
  else
    table.insert(c.queue, req)
  end
  return req
end

-- Asks the daemon to cancel req ($/cancelRequest); a request still waiting for initialize is
-- dropped here. Returns false when it had already finished.
function M.cancel(req)
  if req.done then
    return false
  end
  local c = req.conn
  if c == nil or req.id == nil then
    if conn then
      for i, queued in ipairs(conn.queue) do
        if queued == req then
          table.remove(conn.queue, i)
          break
        end
      end
    end
    finish(req, { code = M.REQUEST_CANCELLED, message = 'request cancelled' })
    return true
  end
  req.cancel_requested = true
  c.rpc.notify('$/cancelRequest', { id = req.id })
  return true
end

-- Runs a request and waits for it (for :checkhealth). Returns err, result.
function M.request_sync(method, params, timeout_ms)
  local req = M.request(method, params, function() end)
  local done = vim.wait(timeout_ms or config.options.timeout_ms, function()
    return req.done
  end, 20)
  if not done then
    M.cancel(req)
    return { message = string.format('%s: no answer within %d ms', method, timeout_ms or config.options.timeout_ms) }
  end
  return req.err, req.result
end

-- What is known about the connection (nil when no daemon runs).
function M.state()
  if not conn then
    return nil
  end
  local n = 0
  for _ in pairs(conn.inflight) do
    n = n + 1
  end
  return {
    generation = conn.generation,
    ready = conn.ready,
    cmd = conn.cmd,
    source = conn.source,
    shared = conn.shared,
    server = conn.server,
    capabilities = conn.capabilities,
    pid = conn.rpc.pid,
    inflight = n,
  }
end

-- Neovim is quitting: cancel what runs and end the daemon now. Closing its pipes alone would
-- let a long job (a quantization) run on after the editor is gone. A daemon we connected to
-- is shared: only our connection is closed.
function M.kill()
  local all = vim.tbl_keys(closing)
  if conn then
    all[#all + 1] = conn
  end
  for _, c in ipairs(all) do
    c.stopping = true
    for id in pairs(c.inflight) do
      pcall(c.rpc.notify, '$/cancelRequest', { id = id })
    end
    terminate(c)
  end
end

-- Ends the daemon politely (shutdown, then exit; requests already sent still get their
-- answers). It is forgotten at once: the next request starts (or connects to) a new one.
function M.stop()
  local c = conn
  if not c then
    return
  end
  conn = nil
  c.stopping = true
  closing[c] = true
  if not c.ready then
    fail_all(c, { message = 'segslimd was stopped before it answered initialize' })
    terminate(c)
    return
  end
  c.rpc.request('shutdown', nil, function()
    c.rpc.notify('exit', nil)
  end)
end

return M
