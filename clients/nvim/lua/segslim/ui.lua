-- Windows and text: the :SegslimInfo float, result buffers, and number formatting.
local config = require('segslim.config')

local M = {}

local function nn(v)
  if v == vim.NIL then
    return nil
  end
  return v
end
M.nn = nn

-- 1320311760 -> "1.32 G"
function M.si(n)
  n = nn(n)
  if type(n) ~= 'number' then
    return '?'
  end
  local units = { { 1e12, 'T' }, { 1e9, 'G' }, { 1e6, 'M' }, { 1e3, 'k' } }
  for _, u in ipairs(units) do
    if math.abs(n) >= u[1] then
      return string.format('%.2f %s', n / u[1], u[2])
    end
  end
  return tostring(n)
end

function M.bytes(n)
  n = nn(n)
  if type(n) ~= 'number' then
    return '?'
  end
  if n >= 1024 * 1024 then
    return string.format('%.1f MiB', n / (1024 * 1024))
  elseif n >= 1024 then
    return string.format('%.1f KiB', n / 1024)
  end
  return string.format('%d B', n)
end

-- A fraction in [0, 1] (the wire's unit for metrics) as a percentage for people.
function M.pct(f)
  f = nn(f)
  if type(f) ~= 'number' then
    return '?'
  end
  return string.format('%.2f%%', f * 100)
end

function M.shape(shape)
  shape = nn(shape)
  if type(shape) ~= 'table' then
    return '[?]'
  end
  local parts = {}
  for _, d in ipairs(shape) do
    parts[#parts + 1] = tostring(nn(d) or '?')
  end
  return '[' .. table.concat(parts, ', ') .. ']'
end

function M.bar(f, width)
  f = nn(f)
  if type(f) ~= 'number' then
    return ''
  end
  local n = math.floor(math.max(0, math.min(1, f)) * width + 0.5)
  return string.rep('#', n) .. string.rep('.', width - n)
end

local function scratch(lines, name)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  -- vim.bo rather than nvim_buf_set_option, which 0.10 deprecated.
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].filetype = 'segslim'
  if name then
    pcall(vim.api.nvim_buf_set_name, buf, name)
  end
  return buf
end

-- A centred floating window holding lines; q or <Esc> closes it. Returns buf, win.
function M.float(lines, name)
  local buf = scratch(lines, name)
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  local columns, rows = vim.o.columns, vim.o.lines
  width = math.min(width + 1, math.max(20, columns - 4))
  local height = math.min(#lines, math.max(3, rows - 4))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((rows - height) / 2) - 1),
    col = math.max(0, math.floor((columns - width) / 2)),
    style = 'minimal',
    border = config.options.border,
  })
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.api.nvim_buf_set_keymap(buf, 'n', key, '<cmd>close<CR>', { noremap = true, silent = true, nowait = true })
  end
  return buf, win
end

-- A results buffer in a split below (reused when one with that name is open). Returns buf, win.
function M.results(lines, name)
  local existing = vim.fn.bufnr(name)
  if existing ~= -1 then
    local win = vim.fn.bufwinid(existing)
    if win ~= -1 then
      vim.api.nvim_win_close(win, true)
    end
    pcall(vim.api.nvim_buf_delete, existing, { force = true })
  end
  local buf = scratch(lines, name)
  vim.cmd('botright split')
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  vim.api.nvim_win_set_height(win, math.min(#lines + 1, math.max(5, math.floor(vim.o.lines / 2))))
  vim.api.nvim_buf_set_keymap(buf, 'n', 'q', '<cmd>close<CR>', { noremap = true, silent = true, nowait = true })
  return buf, win
end

function M.info(msg)
  vim.notify('segslim: ' .. msg, vim.log.levels.INFO)
end

function M.warn(msg)
  vim.notify('segslim: ' .. msg, vim.log.levels.WARN)
end

local code_names = {
  [-32700] = 'ParseError', [-32600] = 'InvalidRequest', [-32601] = 'MethodNotFound',
  [-32602] = 'InvalidParams', [-32603] = 'InternalError', [-32002] = 'ServerNotInitialized',
  [-32800] = 'RequestCancelled', [-33001] = 'FileNotFound', [-33002] = 'InvalidModel',
  [-33003] = 'UnsupportedOperator', [-33004] = 'ModelNotFound', [-33005] = 'DatasetError',
  [-33006] = 'OutOfMemoryBudget', [-33007] = 'TechniqueFailed', [-33008] = 'OutputExists',
  [-33009] = 'UnsupportedFormat', [-33010] = 'TrainingFailed',
}

-- "model/load failed: FileNotFound (-33001): <the daemon's message>"; the daemon's messages
-- name the parameter, file or node at fault, so they are shown whole.
function M.error_text(what, err)
  local code = ''
  if err.code then
    code = string.format('%s (%d): ', code_names[err.code] or 'error', err.code)
  end
  local text = string.format('%s failed: %s%s', what, code, err.message or 'unknown error')
  local data = nn(err.data)
  if type(data) == 'table' and nn(data.unsupported) then
    for _, u in ipairs(data.unsupported) do
      text = text .. string.format('\n  %s: %s', tostring(nn(u.opType)), tostring(nn(u.reason)))
    end
  end
  return text
end

function M.error(what, err)
  vim.notify('segslim: ' .. M.error_text(what, err), vim.log.levels.ERROR)
end

return M
