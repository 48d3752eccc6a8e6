-- Quitting Neovim while a long job runs must end the daemon (run.sh checks the pid it
-- writes): a closed pipe alone would let a quantization run on with nobody to answer.
local repo = assert(os.getenv('SEGSLIM_REPO'), 'SEGSLIM_REPO is not set (run test/run.sh)')
local tmp = assert(os.getenv('SEGSLIM_TEST_TMP'), 'SEGSLIM_TEST_TMP is not set (run test/run.sh)')
local demo = repo .. '/Sources/segslim/Demo'

vim.cmd('runtime plugin/segslim.lua')
local segslim = require('segslim')
local client = require('segslim.client')
local progress = require('segslim.progress')
segslim.setup({ echo_progress = false })
vim.notify = function() end

local function fail(msg)
  io.stdout:write('FAIL [quit] ' .. msg .. '\n')
  vim.cmd('cquit')
end

vim.cmd('SegslimLoad ' .. demo .. '/lraspp_mbv3_camvid.onnx')
if not vim.wait(300000, function() return segslim.last.load ~= nil end, 20) or segslim.last.load.err then
  fail('load')
end
vim.cmd('SegslimCompress quantize calibration={"split":"val","count":4} dataset=' .. demo .. '/samples')
local running = vim.wait(300000, function()
  for _, h in ipairs(progress.history) do
    if h.kind == 'report' and (h.title or ''):find('quantize', 1, true) then
      return true
    end
  end
  return false
end, 20)
if not running or segslim.last.compress ~= nil then
  fail('the quantize job did not start or ended early')
end
local err, status = client.request_sync('server/status', nil, 10000)
if err then
  fail('server/status: ' .. tostring(err.message))
end
local f = assert(io.open(tmp .. '/daemon.pid', 'w'))
f:write(tostring(status.pid))
f:close()
io.stdout:write('ok   quitting with a job running (daemon pid ' .. status.pid .. ')\n')
-- :SegslimStop first: a daemon asked to shut down waits for running requests before it
-- answers, so without the plugin's VimLeavePre kill it would finish the whole job.
vim.cmd('SegslimStop')
vim.cmd('qall!')
