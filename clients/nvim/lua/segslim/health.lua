-- :checkhealth segslim: the daemon is found, says its version, and answers initialize.
local config = require('segslim.config')
local client = require('segslim.client')

local M = {}

-- vim.health.start/ok/... since 0.10 (report_* before, in `health` on 0.7).
local function reporter()
  local h = vim.health
  if h == nil or (h.start == nil and h.report_start == nil) then
    h = require('health')
  end
  if h.start then
    return h
  end
  return {
    start = h.report_start,
    ok = h.report_ok,
    info = h.report_info,
    warn = h.report_warn,
    error = h.report_error,
  }
end

local nn = require('segslim.json').nn

function M.check()
  local health = reporter()
  health.start('segslim')
  if vim.fn.has('nvim-0.7') == 1 then
    health.ok('Neovim ' .. tostring(vim.version().major) .. '.' .. tostring(vim.version().minor) .. ' (0.7 or later)')
  else
    health.error('Neovim 0.7 or later is required')
  end

  if config.options.connect then
    health.info('using the daemon listening at ' .. tostring(config.options.connect) .. ' (setup{connect=...})')
  else
    local cmd, where = config.resolve_cmd()
    if not cmd then
      health.error(where)
      return
    end
    health.ok(string.format('segslimd found: %s (from %s)', cmd[1], where))

    local out = vim.fn.system({ cmd[1], '--version' })
    if vim.v.shell_error ~= 0 then
      health.error(string.format('%s --version failed (exit %d): %s', cmd[1], vim.v.shell_error, vim.trim(out)))
      return
    end
    health.ok('version: ' .. vim.trim(out))
  end

  local err, result = client.request_sync('server/status', nil, config.options.timeout_ms)
  if err then
    health.error('initialize (and server/status) failed: ' .. tostring(err.message))
    return
  end
  local state = client.state() or {}
  local server = state.server or {}
  local caps = state.capabilities or {}
  health.ok(string.format('initialize works: %s %s, protocol revision %s, %d methods',
    tostring(nn(server.name) or '?'), tostring(nn(server.version) or '?'), tostring(nn(caps.protocolRevision) or '?'),
    #(nn(caps.methods) or {})))
  local methods = {}
  for _, m in ipairs(nn(caps.methods) or {}) do
    methods[m] = true
  end
  local missing = {}
  for _, m in ipairs({ 'model/load', 'model/info', 'model/segment', 'model/evaluate', 'model/compress' }) do
    if not methods[m] then
      missing[#missing + 1] = m
    end
  end
  if #missing > 0 then
    health.warn('this daemon does not answer ' .. table.concat(missing, ', ') .. ' (an older segslimd?)')
  end
  local resident = nn(result.models)
  if type(resident) == 'table' then
    resident = #resident
  end
  health.info(string.format('daemon pid %s, resident models: %s, techniques: %s', tostring(nn(result.pid)),
    tostring(resident or 0), table.concat(nn(caps.techniques) or {}, ', ')))
end

return M
