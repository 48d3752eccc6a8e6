-- Command-line arguments: `k=v` pairs whose values are JSON when they parse as JSON and
-- strings otherwise, dotted keys for nested fields, and paths made absolute for the daemon.
local M = {}

local function decode(text)
  local ok, value = pcall(vim.json.decode, text)
  if ok and value ~= nil and value ~= vim.NIL then
    return true, value
  end
  if ok and value == vim.NIL then
    return true, vim.NIL
  end
  return false
end

local function starts_json(text)
  local c = text:sub(1, 1)
  return c == '{' or c == '[' or c == '"'
end

-- Splits "a=1 b={\"x\": 2} c" into positional words and an ordered list of {key, value}.
-- A value that opens JSON ({, [ or ") runs over spaces until it parses. Returns nil and a
-- message on a malformed value.
function M.parse(argstring)
  local words = vim.split(vim.trim(argstring or ''), '%s+')
  if #words == 1 and words[1] == '' then
    words = {}
  end
  local positional, pairs_ = {}, {}
  local i = 1
  while i <= #words do
    local word = words[i]
    local key, raw = word:match('^([%a_][%w_.%-]*)=(.*)$')
    if not key then
      positional[#positional + 1] = word
    else
      local value
      if starts_json(raw) then
        local text = raw
        local ok, decoded = decode(text)
        while not ok and i < #words do
          i = i + 1
          text = text .. ' ' .. words[i]
          ok, decoded = decode(text)
        end
        if not ok then
          return nil, string.format("%s: '%s' is not valid JSON", key, text)
        end
        value = decoded
      else
        local ok, decoded = decode(raw)
        if ok and type(decoded) ~= 'table' then
          value = decoded
        else
          value = raw
        end
      end
      pairs_[#pairs_ + 1] = { key, value }
    end
    i = i + 1
  end
  return positional, pairs_
end

-- Sets t[a][b][c] = value for the key "a.b.c", creating tables on the way.
function M.set_path(t, key, value)
  local parts = vim.split(key, '.', { plain = true })
  local node = t
  for j = 1, #parts - 1 do
    local p = parts[j]
    if type(node[p]) ~= 'table' then
      node[p] = {}
    end
    node = node[p]
  end
  node[parts[#parts]] = value
end

-- ~ and $VAR only: expand() would also read % and # as buffer names.
local function expand(path)
  if path:match('^[~$]') then
    return vim.fn.expand(path)
  end
  return path
end

-- An absolute path for the daemon (whose working directory may differ from :pwd).
function M.abs(path)
  return vim.fn.fnamemodify(expand(path), ':p')
end

-- A dataset argument may be an open dataset's id: only paths that exist here are expanded.
function M.path_or_id(value)
  if type(value) ~= 'string' then
    return value
  end
  local expanded = expand(value)
  if vim.fn.isdirectory(expanded) == 1 or vim.fn.filereadable(expanded) == 1 then
    return (vim.fn.fnamemodify(expanded, ':p'):gsub('/$', ''))
  end
  return value
end

return M
