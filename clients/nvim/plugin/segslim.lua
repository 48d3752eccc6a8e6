-- :Segslim* commands. The work is in lua/segslim/ (loaded on first use).
if vim.g.loaded_segslim then
  return
end
if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'segslim.nvim needs Neovim 0.7 or later', 'ErrorMsg' } }, true, {})
  return
end
vim.g.loaded_segslim = true

local function segslim()
  return require('segslim')
end

local command = vim.api.nvim_create_user_command

-- Nvim 0.7 gives {''} for a missing optional argument.
local function arg(o, i)
  local v = o.fargs[i]
  if v == nil or v == '' then
    return nil
  end
  return v
end

command('SegslimLoad', function(o)
  segslim().load(arg(o, 1), arg(o, 2))
end, { nargs = '+', complete = 'file', desc = 'Load an ONNX model into segslimd: {path} [id]' })

command('SegslimInfo', function(o)
  segslim().info(arg(o, 1))
end, { nargs = '?', desc = 'Show a resident model (inputs, outputs, params, MACs, op counts, warnings)' })

command('SegslimSegment', function(o)
  segslim().segment(arg(o, 1), arg(o, 2), o.bang)
end, { nargs = '+', bang = true, complete = 'file', desc = 'Segment an image: {image} [outdir] (! overwrites)' })

command('SegslimEvaluate', function(o)
  segslim().evaluate(o.args)
end, { nargs = '+', complete = 'file', desc = 'Evaluate on a dataset: {dataset} [split=NAME] [limit=N]' })

command('SegslimCompress', function(o)
  segslim().compress(o.args, o.bang)
end, {
  nargs = '+',
  bang = true,
  complete = function(lead, line)
    if line:match('^%s*%S+%s+%S*$') then
      return vim.tbl_filter(function(t)
        return t:sub(1, #lead) == lead
      end, segslim().techniques())
    end
    return {}
  end,
  desc = 'Compress the current model: {technique} [key=value ...] (! overwrites)',
})

command('SegslimCancel', function()
  segslim().cancel()
end, { nargs = 0, desc = 'Cancel the newest running segslim job' })

command('SegslimStop', function()
  segslim().stop()
end, { nargs = 0, desc = 'Shut segslimd down (the next command starts it again)' })

vim.api.nvim_create_autocmd('VimLeavePre', {
  group = vim.api.nvim_create_augroup('segslim', { clear = true }),
  desc = 'Cancel segslim jobs and end segslimd',
  callback = function()
    if package.loaded['segslim.client'] then
      require('segslim.client').kill()
    end
  end,
})
