-- Options given to require('segslim').setup{} and how the daemon's command line is found.
local M = {}

local defaults = {
  -- Path of segslimd, or a list {path, arg...}. nil: $SEGSLIMD, else `segslimd` on PATH.
  cmd = nil,
  -- 'unix:PATH': use a daemon already listening there (segslimd --listen unix:PATH) instead of
  -- starting one. Needs Nvim 0.10+.
  connect = nil,
  -- Passed as --log-level; the daemon's stderr ends up in Neovim's LSP log.
  log_level = 'error',
  -- Where :SegslimSegment writes when no folder is given (relative to the cwd).
  output_dir = 'segslim-out',
  -- Replace files the daemon would otherwise refuse to overwrite (a bang does it per command).
  overwrite = false,
  -- How long (ms) a synchronous request (:checkhealth) waits before giving up.
  timeout_ms = 15000,
  -- Show $/progress in the command line (disable to show it only in a statusline).
  echo_progress = true,
  -- Floating window border for :SegslimInfo.
  border = 'rounded',
}

M.options = vim.deepcopy(defaults)

function M.setup(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  return M.options
end

-- Returns the command as a list {exe, args...} and a description of where it came from,
-- or nil and a message naming every place that was looked at.
function M.resolve_cmd()
  local source, cmd
  local configured = M.options.cmd
  if configured ~= nil and configured ~= '' then
    source = 'setup{cmd=...}'
    cmd = type(configured) == 'table' and vim.deepcopy(configured) or { configured }
  elseif vim.env.SEGSLIMD ~= nil and vim.env.SEGSLIMD ~= '' then
    source = '$SEGSLIMD'
    cmd = { vim.env.SEGSLIMD }
  else
    source = 'PATH'
    cmd = { 'segslimd' }
  end
  local exe = vim.fn.expand(cmd[1])
  if vim.fn.executable(exe) ~= 1 then
    return nil, string.format(
      "segslimd not found: %s gives '%s', which is not an executable file "
        .. '(set it with setup{cmd=...} or $SEGSLIMD, or put segslimd on PATH)',
      source, cmd[1])
  end
  -- An absolute path keeps working after :cd.
  local resolved = vim.fn.exepath(exe)
  cmd[1] = resolved ~= '' and resolved or exe
  return cmd, source
end

return M
