-- SegSlim for Neovim: the commands behind :Segslim*, over the daemon's JSON-RPC.
local config = require('segslim.config')
local client = require('segslim.client')
local progress = require('segslim.progress')
local ui = require('segslim.ui')
local args = require('segslim.args')
local views = require('segslim.views')

local M = {}

local nn = ui.nn

-- The model commands use when none is named (the last one loaded).
M.current = nil
-- Models loaded from a file, so a restarted daemon can get them back: id -> {path, generation}.
local models = {}
-- Requests that report progress, oldest first (what :SegslimCancel picks from).
local jobs = {}
-- The outcome of each command's latest run, by kind: {n, err, result, ...} (for scripts).
M.last = {}
local completed = 0

function M.setup(opts)
  local before = config.options
  config.setup(opts)
  local after = config.options
  -- A different daemon takes effect now: the running one (or our connection) is ended.
  if not vim.deep_equal(before.cmd, after.cmd) or before.connect ~= after.connect or before.log_level ~= after.log_level then
    client.stop()
  end
end

-- For a statusline: the progress of running jobs, like vim.lsp.status().
function M.status()
  return progress.status()
end

local function record(kind, fields)
  completed = completed + 1
  fields.n = completed
  M.last[kind] = fields
  return fields
end

local function untrack(job)
  for i, j in ipairs(jobs) do
    if j == job then
      table.remove(jobs, i)
      return
    end
  end
end

-- Sends method(params); shows an error (the daemon's message names the parameter or file at
-- fault) or hands the result to on_result. Returns the job.
local function run(kind, method, params, on_result, opts)
  opts = opts or {}
  local label = opts.label or method
  local job = { kind = kind, label = label, method = method, done = false }
  if opts.progress then
    job.token = progress.new_token()
    params.workDoneToken = job.token
  end
  job.req = client.request(method, params, function(err, result)
    job.done = true
    untrack(job)
    if err then
      if err.code == client.REQUEST_CANCELLED then
        ui.warn(label .. ' cancelled')
      else
        ui.error(label, err)
      end
      record(kind, { err = err })
      return
    end
    local ok, extra = pcall(on_result, result)
    if not ok then
      local e = { message = 'showing the result failed: ' .. tostring(extra) }
      ui.error(label, e)
      record(kind, { err = e, result = result })
      return
    end
    local fields = type(extra) == 'table' and extra or {}
    fields.result = result
    record(kind, fields)
  end, { token = job.token })
  if opts.progress and not job.done then
    jobs[#jobs + 1] = job
  end
  return job
end

local function fail(kind, label, message)
  local err = { message = message }
  ui.error(label, err)
  record(kind, { err = err })
end

-- Calls fn(id) once the model is resident: a model loaded from a file before the daemon was
-- restarted is loaded again first (under the same id).
local function with_model(kind, label, id, fn)
  id = id or M.current
  if not id then
    return fail(kind, label, 'no model loaded: run :SegslimLoad {path} first')
  end
  local c, err = client.ensure()
  if not c then
    return fail(kind, label, err)
  end
  local rec = models[id]
  if rec and rec.generation ~= c.generation then
    -- Commands given while the model is being loaded again wait for that one load.
    local waiter = function(lerr)
      if lerr then
        ui.error(label .. " (loading '" .. id .. "' again after a restart)", lerr)
        record(kind, { err = lerr })
      else
        fn(id)
      end
    end
    if rec.waiters then
      table.insert(rec.waiters, waiter)
      return
    end
    rec.waiters = { waiter }
    client.request('model/load', { path = rec.path, id = id }, function(lerr)
      local waiters = rec.waiters
      rec.waiters = nil
      if not lerr then
        rec.generation = c.generation
        ui.info(string.format("segslimd was restarted; loaded '%s' again from %s", id, rec.path))
      end
      for _, w in ipairs(waiters) do
        w(lerr)
      end
    end)
    return
  end
  return fn(id)
end

function M.load(path, id)
  if not path or path == '' then
    return fail('load', 'SegslimLoad', 'usage: :SegslimLoad {path} [id]')
  end
  local params = { path = args.abs(path) }
  if id and id ~= '' then
    params.id = id
  else
    params.reuse = true
  end
  local c, err = client.ensure()
  if not c then
    return fail('load', 'model/load', err)
  end
  return run('load', 'model/load', params, function(r)
    models[r.id] = { path = nn(r.path) or params.path, generation = c.generation }
    M.current = r.id
    ui.info(views.load_summary(r))
    for _, w in ipairs(nn(r.warnings) or {}) do
      ui.warn(r.id .. ': ' .. w)
    end
  end, { progress = true })
end

function M.info(id)
  return with_model('info', 'model/info', id, function(model)
    return run('info', 'model/info', { id = model }, function(r)
      local buf, win = ui.float(views.info_lines(r), 'segslim://info/' .. r.id)
      return { buf = buf, win = win }
    end)
  end)
end

function M.segment(image, outdir, overwrite)
  if not image or image == '' then
    return fail('segment', 'SegslimSegment', 'usage: :SegslimSegment[!] {image} [outdir]')
  end
  return with_model('segment', 'model/segment', nil, function(model)
    local params = {
      id = model,
      images = { args.abs(image) },
      outputDir = args.abs(outdir and outdir ~= '' and outdir or config.options.output_dir),
    }
    if overwrite or config.options.overwrite then
      params.overwrite = true
    end
    return run('segment', 'model/segment', params, function(r)
      ui.info(views.segment_summary(r))
      for _, w in ipairs(nn(r.warnings) or {}) do
        ui.warn(w)
      end
      local first = (nn(r.results) or {})[1] or {}
      return { overlay = nn(first.overlay), classes = nn(first.classes) or {} }
    end, { progress = true })
  end)
end

function M.evaluate(argstring)
  local positional, pairs_ = args.parse(argstring)
  if not positional then
    return fail('evaluate', 'SegslimEvaluate', pairs_)
  end
  if #positional ~= 1 then
    return fail('evaluate', 'SegslimEvaluate', 'usage: :SegslimEvaluate {dataset} [split=NAME] [limit=N] [id=MODEL]')
  end
  local params = { dataset = args.path_or_id(positional[1]) }
  local model
  for _, kv in ipairs(pairs_) do
    if kv[1] == 'id' then
      model = kv[2]
    else
      args.set_path(params, kv[1], kv[2])
    end
  end
  return with_model('evaluate', 'model/evaluate', model, function(id)
    params.id = id
    return run('evaluate', 'model/evaluate', params, function(r)
      local buf, win = ui.results(views.evaluate_lines(r, params.dataset), 'segslim://evaluate/' .. id)
      ui.info(string.format('%s on %s: mIoU %s over %s images', id, params.dataset, ui.pct(r.miou), tostring(nn(r.images))))
      return { buf = buf, win = win }
    end, { progress = true })
  end)
end

-- model/compress's own fields; every other key is a parameter of the technique.
local request_fields = {
  dataset = true, split = true, evaluate = true, calibration = true, threads = true,
  benchmarkRuns = true, outputPath = true, newId = true, overwrite = true,
}

function M.compress(argstring, overwrite)
  local positional, pairs_ = args.parse(argstring)
  if not positional then
    return fail('compress', 'SegslimCompress', pairs_)
  end
  if #positional ~= 1 then
    return fail('compress', 'SegslimCompress', 'usage: :SegslimCompress[!] {technique} [key=value ...] '
      .. '(values are JSON when they parse, else strings)')
  end
  local params = { technique = positional[1] }
  local technique_params = {}
  local has_technique_params = false
  local model
  for _, kv in ipairs(pairs_) do
    local key, value = kv[1], kv[2]
    local head = key:match('^[^.]+')
    if key == 'id' then
      model = value
    elseif head == 'params' and key ~= 'params' then
      args.set_path(technique_params, key:sub(#'params.' + 1), value)
      has_technique_params = true
    elseif key == 'params' and type(value) == 'table' then
      for k, v in pairs(value) do
        technique_params[k] = v
      end
      has_technique_params = true
    elseif request_fields[head] then
      args.set_path(params, key, value)
    else
      args.set_path(technique_params, key, value)
      has_technique_params = true
    end
  end
  if has_technique_params then
    params.params = technique_params
  end
  if params.dataset then
    params.dataset = args.path_or_id(params.dataset)
  end
  if type(params.outputPath) == 'string' then
    params.outputPath = args.abs(params.outputPath)
  end
  if type(params.calibration) == 'table' and type(params.calibration.path) == 'string' then
    params.calibration.path = args.path_or_id(params.calibration.path)
  end
  if overwrite or config.options.overwrite then
    params.overwrite = true
  end
  return with_model('compress', 'model/compress', model, function(id)
    params.id = id
    local c = client.ensure()
    return run('compress', 'model/compress', params, function(r)
      if c and nn(r.path) then
        models[r.id] = { path = r.path, generation = c.generation }
      end
      ui.info(views.compress_summary(r))
      local report = nn(r.report) or {}
      for _, w in ipairs(nn(report.warnings) or {}) do
        ui.warn(w)
      end
      local buf, win = ui.results(views.compress_lines(r), 'segslim://compress/' .. r.id)
      return { buf = buf, win = win }
    end, { progress = true, label = 'model/compress ' .. params.technique })
  end)
end

-- Cancels the newest running job ($/cancelRequest); its answer, RequestCancelled, is reported
-- when it arrives.
function M.cancel()
  for i = #jobs, 1, -1 do
    local job = jobs[i]
    if not job.done then
      client.cancel(job.req)
      ui.info('cancelling ' .. job.label)
      return job
    end
  end
  ui.warn('no running job to cancel')
  return nil
end

function M.stop()
  client.stop()
end

-- Technique ids for completion: from the daemon when it is running, else the known ones.
function M.techniques()
  local state = client.state()
  local caps = state and state.capabilities
  if caps and type(nn(caps.techniques)) == 'table' then
    return caps.techniques
  end
  return { 'fuse', 'quantize', 'qat', 'prune', 'finetune', 'distill' }
end

return M
