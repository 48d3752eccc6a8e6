-- Work-done progress ($/progress, LSP's begin/report/end shape) for the requests this plugin
-- started: kept per token, echoed as "segslim: Title: message (40%)" in the command line,
-- announced with `User SegslimProgress` for statuslines, and summarised by status() the way
-- vim.lsp.status() summarises a language server's progress.
local M = {}

local active = {} -- token -> {title, message, percentage}
local order = {} -- tokens in the order they began

-- Drops a token that ended (or whose request died) from the active set and the order.
local function forget(token)
  active[token] = nil
  for i, t in ipairs(order) do
    if t == token then
      table.remove(order, i)
      return
    end
  end
end
local counter = 0

-- Every update, oldest first (bounded): what a statusline or a test can look back on.
M.history = {}
local HISTORY_MAX = 200

function M.new_token()
  counter = counter + 1
  return string.format('segslim-%d-%d', vim.fn.getpid(), counter)
end

local function text_of(entry, ended)
  local parts = { entry.title or 'segslim' }
  if entry.message and entry.message ~= '' then
    parts[#parts + 1] = ': ' .. entry.message
  end
  if entry.percentage and not ended then
    parts[#parts + 1] = string.format(' (%d%%)', entry.percentage)
  end
  return table.concat(parts)
end

local function echo(text)
  local ok_cfg, config = pcall(require, 'segslim.config')
  if ok_cfg and not config.options.echo_progress then
    return
  end
  -- No history: a job reports many times; the final answer is notified separately.
  pcall(vim.api.nvim_echo, { { 'segslim: ' .. text } }, false, {})
end

local function announce()
  pcall(vim.cmd, 'doautocmd <nomodeline> User SegslimProgress')
end

local function record(token, kind, entry)
  local item = { token = token, kind = kind, title = entry.title, message = entry.message, percentage = entry.percentage }
  M.history[#M.history + 1] = item
  if #M.history > HISTORY_MAX then
    table.remove(M.history, 1)
  end
end

local nn = require('segslim.json').nn

-- Handles one $/progress params object from the daemon.
function M.handle(params)
  if type(params) ~= 'table' or type(params.value) ~= 'table' then
    return
  end
  local token, value = params.token, params.value
  local kind = value.kind
  local entry = active[token]
  if kind == 'begin' then
    entry = { title = nn(value.title), message = nn(value.message), percentage = nn(value.percentage) }
    active[token] = entry
    order[#order + 1] = token
  elseif entry == nil then
    return -- not ours, or already ended
  elseif kind == 'report' then
    entry.message = nn(value.message) or entry.message
    entry.percentage = nn(value.percentage) or entry.percentage
  elseif kind == 'end' then
    entry.message = nn(value.message) or 'done'
    forget(token)
  else
    return
  end
  record(token, kind, entry)
  echo(text_of(entry, kind == 'end'))
  announce()
end

-- Forgets a token whose request ended without an `end` (the daemon died, say).
function M.abort(token)
  if active[token] then
    forget(token)
    announce()
  end
end

-- One line for a statusline: every running job, "Title: message (40%)", comma-separated.
function M.status()
  local parts = {}
  for _, token in ipairs(order) do
    parts[#parts + 1] = text_of(active[token])
  end
  return table.concat(parts, ', ')
end

return M
