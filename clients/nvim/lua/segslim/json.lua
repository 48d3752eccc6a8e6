-- JSON from the daemon as Neovim decodes it: a JSON null arrives as vim.NIL, which is truthy;
-- nn() turns it into nil so `x or default` works.
local M = {}

function M.nn(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

return M
