-- Headless end-to-end test of the plugin against a real segslimd (run by test/run.sh):
-- every command, progress, cancel, errors, a daemon that dies, and :checkhealth.
-- Each wait has a timeout; the first failure prints why and exits non-zero. The timeouts are
-- generous because CI runs a debug build of the daemon (numeric code is slow there); a
-- healthy run takes seconds with a release build.
local LONG = 300000
local repo = assert(os.getenv('SEGSLIM_REPO'), 'SEGSLIM_REPO is not set (run test/run.sh)')
local tmp = assert(os.getenv('SEGSLIM_TEST_TMP'), 'SEGSLIM_TEST_TMP is not set (run test/run.sh)')
local demo = repo .. '/Sources/segslim/Demo'
local model_path = demo .. '/lraspp_mbv3_camvid.onnx'
local dataset = demo .. '/samples'
local image = dataset .. '/images/0016E5_07959.jpg'

vim.cmd('runtime plugin/segslim.lua')
local segslim = require('segslim')
local client = require('segslim.client')
local progress = require('segslim.progress')
local args = require('segslim.args')
local uv = vim.uv or vim.loop
segslim.setup({ echo_progress = false })

local notes = {}
vim.notify = function(msg, level)
  notes[#notes + 1] = { msg = tostring(msg), level = level or vim.log.levels.INFO }
end

local passed = 0
local current = '(setup)'

local function log(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end

local function fail(msg)
  log(string.format('FAIL [%s] %s', current, msg))
  log('notifications so far:')
  for _, n in ipairs(notes) do
    log(string.format('  [%d] %s', n.level, n.msg))
  end
  pcall(client.stop)
  vim.cmd('cquit')
end

local function check(cond, msg)
  if not cond then
    fail(msg)
  end
end

local function wait(ms, pred, what)
  if not vim.wait(ms, pred, 20) then
    fail('timed out after ' .. ms .. ' ms waiting for ' .. what)
  end
end

-- Runs an Ex command and waits for its outcome (segslim.last[kind] changes).
local function run(kind, cmd, ms)
  local before = segslim.last[kind] and segslim.last[kind].n or 0
  vim.cmd(cmd)
  wait(ms or LONG, function()
    return segslim.last[kind] and segslim.last[kind].n > before
  end, ':' .. cmd)
  return segslim.last[kind]
end

local function ok_result(kind, cmd, ms)
  local out = run(kind, cmd, ms)
  if out.err then
    fail(':' .. cmd .. ' failed: ' .. tostring(out.err.message))
  end
  return out
end

local function notes_matching(pattern, level)
  local found = {}
  for _, n in ipairs(notes) do
    if n.msg:find(pattern, 1, true) and (level == nil or n.level == level) then
      found[#found + 1] = n.msg
    end
  end
  return found
end

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

local function test(name, fn)
  current = name
  fn()
  passed = passed + 1
  log('ok   ' .. name)
  local f = io.open(tmp .. '/passed', 'w')
  if f then
    f:write(tostring(passed))
    f:close()
  end
end

test('k=v arguments: JSON when it parses, else strings; JSON may span spaces', function()
  local pos, pairs_ = args.parse('quantize count=2 ratio=0.5 on=true name=abc calibration={"split": "val", "count": 2} p.q=[1, 2]')
  check(pos and #pos == 1 and pos[1] == 'quantize', 'positional: ' .. vim.inspect(pos))
  local got = {}
  for _, kv in ipairs(pairs_) do
    got[kv[1]] = kv[2]
  end
  check(got.count == 2 and got.ratio == 0.5 and got.on == true and got.name == 'abc', vim.inspect(got))
  check(type(got.calibration) == 'table' and got.calibration.split == 'val' and got.calibration.count == 2, vim.inspect(got))
  check(type(got['p.q']) == 'table' and got['p.q'][2] == 2, vim.inspect(got))
  local bad, msg = args.parse('x={"open": 1')
  check(bad == nil and msg:find('x:', 1, true), 'malformed JSON is reported with its key: ' .. tostring(msg))
end)

test(':SegslimLoad loads the demo model (daemon started on demand)', function()
  local out = ok_result('load', 'SegslimLoad ' .. model_path)
  check(out.result.id == 'lraspp_mbv3_camvid', 'id ' .. tostring(out.result.id))
  check(segslim.current == 'lraspp_mbv3_camvid', 'current model ' .. tostring(segslim.current))
  local state = client.state()
  check(state and state.server and state.server.name == 'segslimd', 'initialize answered: ' .. vim.inspect(state))
end)

test(':SegslimInfo opens a float with inputs, outputs, params, MACs and op counts', function()
  local out = ok_result('info', 'SegslimInfo')
  check(vim.api.nvim_win_is_valid(out.win), 'window is open')
  check(vim.api.nvim_win_get_config(out.win).relative == 'editor', 'window is floating')
  local text = buffer_text(out.buf)
  for _, needle in ipairs({ 'Inputs', 'image', '[1, 3, 360, 480]', 'Outputs', 'params', 'MACs', 'Op counts', 'Conv', '66', 'Warnings' }) do
    check(text:find(needle, 1, true), 'info window lacks ' .. needle .. ':\n' .. text)
  end
  vim.api.nvim_win_close(out.win, true)
end)

test(':SegslimSegment writes the overlay and reports the classes present', function()
  local outdir = tmp .. '/seg'
  local out = ok_result('segment', 'SegslimSegment ' .. image .. ' ' .. outdir)
  check(out.overlay == outdir .. '/0016E5_07959.overlay.png', 'overlay path ' .. tostring(out.overlay))
  check(vim.fn.filereadable(out.overlay) == 1, 'overlay file exists: ' .. out.overlay)
  check(vim.fn.getfsize(out.overlay) > 1000, 'overlay is a real PNG')
  local names = {}
  for _, c in ipairs(out.classes) do
    names[c.class] = true
  end
  check(names.road and names.sky and names.building, 'classes present: ' .. vim.inspect(out.classes))
  check(#notes_matching('classes present: road') > 0, 'the classes were reported to the user')
  -- A second run into the same folder is refused without ! (the daemon's OutputExists) ...
  local again = run('segment', 'SegslimSegment ' .. image .. ' ' .. outdir)
  check(again.err and again.err.code == -33008, 'OutputExists without !: ' .. vim.inspect(again.err))
  check(#notes_matching('OutputExists', vim.log.levels.ERROR) > 0, 'the refusal was shown')
  -- ... and replaced with it.
  ok_result('segment', 'SegslimSegment! ' .. image .. ' ' .. outdir)
end)

test(':SegslimEvaluate fills a results buffer with mIoU and per-class IoU', function()
  local out = ok_result('evaluate', 'SegslimEvaluate ' .. dataset)
  check(out.result.images == 4, 'images ' .. tostring(out.result.images))
  check(out.result.miou > 0.3 and out.result.miou < 1, 'mIoU ' .. tostring(out.result.miou))
  local text = buffer_text(out.buf)
  check(text:find('mIoU', 1, true), 'mIoU line:\n' .. text)
  check(text:find(string.format('%.2f%%', out.result.miou * 100), 1, true), 'mIoU value shown')
  for _, cls in ipairs({ 'sky', 'road', 'bicyclist' }) do
    check(text:find('\n  ' .. cls, 1, true), 'per-class row for ' .. cls .. ':\n' .. text)
  end
  local reports = 0
  for _, h in ipairs(progress.history) do
    if h.kind == 'report' and (h.title or ''):find('Evaluating', 1, true) then
      reports = reports + 1
    end
  end
  check(reports >= 4, 'one progress report per image, got ' .. reports)
  vim.api.nvim_win_close(out.win, true)
end)

test(':SegslimCompress fuse with k=v params, progress observed, model written', function()
  local outpath = tmp .. '/fused.onnx'
  local first = #progress.history
  local out = ok_result('compress', 'SegslimCompress fuse eliminateIdentity=true benchmarkRuns=0 newId=fused outputPath=' .. outpath)
  check(out.result.id == 'fused', 'newId ' .. tostring(out.result.id))
  check(vim.fn.filereadable(outpath) == 1, 'model written')
  check(vim.fn.filereadable(outpath .. '.report.json') == 1, 'report written')
  local kinds = {}
  for i = first + 1, #progress.history do
    local h = progress.history[i]
    if (h.title or ''):find('fuse', 1, true) then
      kinds[#kinds + 1] = h.kind .. ':' .. tostring(h.percentage)
    end
  end
  check(kinds[1] == 'begin:0' and kinds[#kinds]:match('^end'), 'begin ... end: ' .. table.concat(kinds, ' '))
  check(vim.tbl_contains(kinds, 'report:100'), 'a report at 100%: ' .. table.concat(kinds, ' '))
  check(buffer_text(out.buf):find('MACs', 1, true), 'compress results buffer')
  vim.api.nvim_win_close(out.win, true)
end)

test(':SegslimCompress with an unknown technique parameter shows the message naming it', function()
  local out = run('compress', 'SegslimCompress fuse bogusKnob=3')
  check(out.err and out.err.code == -32602, 'InvalidParams: ' .. vim.inspect(out.err))
  check(#notes_matching('bogusKnob', vim.log.levels.ERROR) > 0, 'error names the parameter')
end)

test(':SegslimCancel cancels a running quantize job', function()
  local start = #progress.history
  local before = segslim.last.compress.n
  vim.cmd('SegslimCompress quantize newId=cancelled-q calibration={"split": "val", "count": 4} dataset=' .. dataset)
  wait(LONG, function()
    for i = start + 1, #progress.history do
      local h = progress.history[i]
      if h.kind == 'report' and (h.title or ''):find('quantize', 1, true) then
        return true
      end
    end
    return segslim.last.compress.n > before
  end, 'the quantize job to report progress')
  check(segslim.last.compress.n == before, 'the job is still running when cancelled')
  vim.cmd('SegslimCancel')
  wait(LONG, function()
    return segslim.last.compress.n > before
  end, 'the cancelled job to answer')
  local out = segslim.last.compress
  check(out.err and out.err.code == client.REQUEST_CANCELLED, 'RequestCancelled: ' .. vim.inspect(out.err))
  check(#notes_matching('cancelled', vim.log.levels.WARN) > 0, 'the cancel was reported')
  check(progress.status() == '', 'no progress left spinning: ' .. progress.status())
  local err, list = client.request_sync('model/list', nil, 10000)
  check(not err, 'model/list: ' .. vim.inspect(err))
  for _, m in ipairs(list.models or {}) do
    check(m.id ~= 'cancelled-q', 'a cancelled compress leaves no model resident')
  end
  check(segslim.cancel() == nil, 'nothing left to cancel')
  check(#notes_matching('no running job', vim.log.levels.WARN) > 0, 'and the user is told so')
end)

test('a bad path: the error names it', function()
  local bad = tmp .. '/no/such/model.onnx'
  local out = run('load', 'SegslimLoad ' .. bad)
  check(out.err and out.err.code == -33001, 'FileNotFound: ' .. vim.inspect(out.err))
  check(#notes_matching(bad, vim.log.levels.ERROR) > 0, 'the message names ' .. bad)
  local ev = run('evaluate', 'SegslimEvaluate ' .. tmp .. '/no-dataset')
  check(ev.err ~= nil, 'evaluate on a missing dataset fails')
  check(#notes_matching('no-dataset', vim.log.levels.ERROR) > 0, 'the message names the dataset')
end)

test('a daemon that dies is restarted by the next command, models loaded again', function()
  local err, status = client.request_sync('server/status', nil, 10000)
  check(not err and status.pid, 'server/status: ' .. vim.inspect(err))
  local gen = client.state().generation
  uv.kill(status.pid, 'sigkill')
  wait(10000, function()
    return client.state() == nil
  end, 'the death to be noticed')
  check(#notes_matching('segslimd exited', vim.log.levels.WARN) > 0, 'the death was reported')
  -- Two commands at once: both wait for one load of the model.
  local seg_before = segslim.last.segment.n
  vim.cmd('SegslimSegment! ' .. image .. ' ' .. tmp .. '/seg')
  local out = ok_result('info', 'SegslimInfo')
  wait(LONG, function()
    return segslim.last.segment.n > seg_before
  end, 'the segment given with it')
  check(not segslim.last.segment.err, 'segment after the restart: ' .. vim.inspect(segslim.last.segment.err))
  check(client.state().generation == gen + 1, 'a new daemon was started')
  check(buffer_text(out.buf):find('Op counts', 1, true), 'info works after the restart')
  check(#notes_matching('loaded \'lraspp_mbv3_camvid\' again', vim.log.levels.INFO) == 1, 'the model was loaded again, once')
  vim.api.nvim_win_close(out.win, true)
end)

test(':checkhealth segslim', function()
  vim.cmd('checkhealth segslim')
  local text = buffer_text(vim.api.nvim_get_current_buf())
  check(text:find('segslimd found', 1, true), 'daemon found:\n' .. text)
  check(text:find('version: ', 1, true), 'version:\n' .. text)
  check(text:find('initialize works', 1, true), 'initialize:\n' .. text)
  check(not text:find('ERROR', 1, true), 'no errors:\n' .. text)
end)

test('checkhealth reports a daemon that cannot be found', function()
  client.stop()
  wait(10000, function()
    return client.state() == nil
  end, 'the daemon to stop')
  segslim.setup({ cmd = tmp .. '/not-a-daemon', echo_progress = false })
  vim.cmd('checkhealth segslim')
  local text = buffer_text(vim.api.nvim_get_current_buf())
  check(text:find('not-a-daemon', 1, true) and text:find('ERROR', 1, true), 'missing daemon reported:\n' .. text)
  local out = run('load', 'SegslimLoad ' .. model_path)
  check(out.err and out.err.message:find('not-a-daemon', 1, true), 'load names the missing daemon: ' .. vim.inspect(out.err))
end)

test('setup{connect=unix:PATH} uses a daemon that is already listening (Nvim 0.10+)', function()
  client.stop()
  wait(10000, function()
    return client.state() == nil
  end, 'the previous connection to end')
  local sock = tmp .. '/segslim.sock'
  segslim.setup({ connect = 'unix:' .. sock, echo_progress = false, timeout_ms = 5000 })
  if vim.fn.has('nvim-0.10') ~= 1 then
    local out = run('load', 'SegslimLoad ' .. model_path)
    check(out.err and out.err.message:find('needs Neovim 0.10', 1, true), 'refused on this version: ' .. vim.inspect(out.err))
    return
  end
  -- Nobody listens yet: the request fails instead of waiting forever.
  local out = run('load', 'SegslimLoad ' .. model_path, 20000)
  check(out.err ~= nil, 'no daemon at the socket is an error')
  local job = vim.fn.jobstart({ os.getenv('SEGSLIMD'), '--listen', 'unix:' .. sock })
  check(job > 0, 'daemon started on the socket')
  wait(10000, function()
    return uv.fs_stat(sock) ~= nil
  end, 'the socket to appear')
  out = ok_result('load', 'SegslimLoad ' .. model_path)
  check(client.state().shared, 'connected, not spawned')
  local err, status = client.request_sync('server/status', nil, 10000)
  check(not err and status.connections == 1, 'one connection: ' .. vim.inspect(status))
  ok_result('info', 'SegslimInfo')
  client.kill() -- what quitting Neovim does: on a shared daemon, only our connection goes
  wait(10000, function()
    return client.state() == nil
  end, 'the connection to close')
  check(vim.fn.jobwait({ job }, 0)[1] == -1, 'the shared daemon still runs')
  vim.fn.jobstop(job)
end)

test('nothing the plugin used was reported as deprecated by this Neovim', function()
  local found = notes_matching('deprecated')
  check(#found == 0, table.concat(found, '\n'))
end)

log(string.format('all %d tests passed', passed))
vim.cmd('qall!')
