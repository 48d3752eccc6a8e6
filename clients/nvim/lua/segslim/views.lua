-- Text for results: model/info's float, model/evaluate's and model/compress's buffers, and
-- the one-line summaries of load and segment.
local ui = require('segslim.ui')

local M = {}

local nn = ui.nn

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

local function io_lines(lines, title, list)
  lines[#lines + 1] = title
  list = nn(list) or {}
  if #list == 0 then
    lines[#lines + 1] = '  (none)'
  end
  for _, io in ipairs(list) do
    lines[#lines + 1] = string.format('  %-20s %-5s %s', tostring(nn(io.name)), tostring(nn(io.dtype) or '?'), ui.shape(io.shape))
  end
end

function M.load_summary(r)
  return string.format("loaded '%s': %s params, %s MACs, %s (model commands now use it)",
    r.id, ui.si(r.params), ui.si(r.macs), ui.bytes(r.sizeBytes))
end

-- model/info: inputs, outputs, params, MACs, op counts, warnings.
function M.info_lines(r)
  local lines = {
    'SegSlim model ' .. tostring(r.id),
    '',
    'path       ' .. tostring(nn(r.path) or '(in memory)'),
    'producer   ' .. tostring(nn(r.producer) or '?'),
    string.format('size       %s (resident %s)', ui.bytes(r.sizeBytes), ui.bytes(r.residentBytes)),
    string.format('params     %s (%s)', ui.si(r.params), tostring(nn(r.params))),
    string.format('MACs       %s (%s per run)', ui.si(r.macs), tostring(nn(r.macs))),
  }
  local opsets = {}
  for _, domain in ipairs(sorted_keys(nn(r.opsets))) do
    opsets[#opsets + 1] = domain .. ' ' .. tostring(r.opsets[domain])
  end
  lines[#lines + 1] = 'opsets     ' .. (#opsets > 0 and table.concat(opsets, ', ') or '?')
  lines[#lines + 1] = ''
  io_lines(lines, 'Inputs', r.inputs)
  io_lines(lines, 'Outputs', r.outputs)
  lines[#lines + 1] = ''
  local counts = nn(r.opCounts) or {}
  local total = 0
  for _, n in pairs(counts) do
    total = total + n
  end
  lines[#lines + 1] = string.format('Op counts (%d nodes)', total)
  for _, op in ipairs(sorted_keys(counts)) do
    lines[#lines + 1] = string.format('  %-24s %d', op, counts[op])
  end
  local pre = nn(r.preprocessing)
  if type(pre) == 'table' then
    lines[#lines + 1] = ''
    lines[#lines + 1] = 'Preprocessing'
    local size = nn(pre.inputSize)
    lines[#lines + 1] = string.format('  input %s, size %s, resize %s, %s',
      tostring(nn(pre.input) or '?'), size and ui.shape(size) or 'image size', tostring(nn(pre.resize) or '?'),
      tostring(nn(pre.channelOrder) or 'RGB'))
    local classes = nn(pre.classes)
    if type(classes) == 'table' then
      lines[#lines + 1] = string.format('  %d classes: %s', #classes, table.concat(classes, ', '))
    end
  end
  lines[#lines + 1] = ''
  local warnings = nn(r.warnings) or {}
  lines[#lines + 1] = string.format('Warnings (%d)', #warnings)
  for _, w in ipairs(warnings) do
    lines[#lines + 1] = '  - ' .. w
  end
  return lines
end

-- "segmented street.jpg -> /out/street.overlay.png; classes: road 29.1%, sky 20.0%"
function M.segment_summary(r)
  local parts = {}
  for _, item in ipairs(nn(r.results) or {}) do
    local classes = vim.deepcopy(nn(item.classes) or {})
    table.sort(classes, function(a, b)
      return (nn(a.fraction) or 0) > (nn(b.fraction) or 0)
    end)
    local names = {}
    for _, c in ipairs(classes) do
      names[#names + 1] = string.format('%s %.1f%%', tostring(nn(c.class) or c.id), (nn(c.fraction) or 0) * 100)
    end
    parts[#parts + 1] = string.format('segmented %s -> %s; classes present: %s',
      vim.fn.fnamemodify(tostring(nn(item.image) or '?'), ':t'),
      tostring(nn(item.overlay) or nn(item.mask) or '(inline)'),
      #names > 0 and table.concat(names, ', ') or '(none)')
  end
  return table.concat(parts, '\n')
end

local function metric_lines(lines, r)
  lines[#lines + 1] = string.format('mIoU            %s', ui.pct(r.miou))
  lines[#lines + 1] = string.format('pixel accuracy  %s', ui.pct(r.pixelAccuracy))
  lines[#lines + 1] = string.format('mean accuracy   %s', ui.pct(r.meanAccuracy))
  lines[#lines + 1] = string.format('mean Dice       %s', ui.pct(r.meanDice))
  if type(nn(r.kappa)) == 'number' then
    lines[#lines + 1] = string.format('kappa           %.4f', r.kappa)
  end
end

function M.evaluate_lines(r, dataset)
  local lines = {
    string.format('SegSlim evaluation of %s', tostring(r.id)),
    string.format('dataset %s, split %s, %s images', tostring(dataset), tostring(nn(r.split) or '?'), tostring(nn(r.images))),
    '',
  }
  metric_lines(lines, r)
  local lat = nn(r.latency)
  if type(lat) == 'table' then
    lines[#lines + 1] = string.format('latency         p50 %.1f ms, p90 %.1f ms, mean %.1f ms, min %.1f ms; %.1f images/s',
      nn(lat.p50Ms) or 0, nn(lat.p90Ms) or 0, nn(lat.meanMs) or 0, nn(lat.minMs) or 0, nn(r.imagesPerSecond) or 0)
  end
  if (nn(r.outOfRangeLabels) or 0) > 0 then
    lines[#lines + 1] = string.format('labels out of range: %d pixels (not scored)', r.outOfRangeLabels)
  end
  lines[#lines + 1] = ''
  lines[#lines + 1] = 'Per-class IoU'
  local width = 8
  for _, c in ipairs(nn(r.perClassIoU) or {}) do
    width = math.max(width, #tostring(nn(c.class)))
  end
  for _, c in ipairs(nn(r.perClassIoU) or {}) do
    lines[#lines + 1] = string.format('  %-' .. width .. 's %7s  %s', tostring(nn(c.class)), ui.pct(c.iou), ui.bar(c.iou, 30))
  end
  local warnings = nn(r.warnings) or {}
  if #warnings > 0 then
    lines[#lines + 1] = ''
    lines[#lines + 1] = 'Warnings'
    for _, w in ipairs(warnings) do
      lines[#lines + 1] = '  - ' .. w
    end
  end
  return lines
end

local function before_after(report, field, fmt)
  local b, a = nn(report.before) or {}, nn(report.after) or {}
  return string.format('%s -> %s', fmt(b[field]), fmt(a[field]))
end

function M.compress_summary(r)
  local report = nn(r.report) or {}
  local text = string.format("compressed with %s -> '%s' (size %s, MACs %s)", tostring(nn(report.technique) or '?'),
    tostring(r.id), before_after(report, 'sizeBytes', ui.bytes), before_after(report, 'macs', ui.si))
  local ev = nn(report.evaluation)
  if type(ev) == 'table' then
    text = text .. string.format(', mIoU %s -> %s', ui.pct((nn(ev.before) or {}).miou), ui.pct((nn(ev.after) or {}).miou))
  end
  if nn(r.path) then
    text = text .. ', written to ' .. r.path
  end
  return text
end

function M.compress_lines(r)
  local report = nn(r.report) or {}
  local source = nn(report.source) or {}
  local lines = {
    string.format('SegSlim compression: %s', tostring(nn(report.technique) or '?')),
    '',
    string.format('source     %s (%s)', tostring(nn(source.id) or '?'), tostring(nn(source.path) or 'in memory')),
    string.format('result     %s (%s)', tostring(r.id), tostring(nn(r.path) or 'resident only: pass outputPath=FILE to write it')),
    string.format('size       %s (ratio %s)', before_after(report, 'sizeBytes', ui.bytes), tostring(nn(report.sizeRatio) or '?')),
    string.format('params     %s', before_after(report, 'params', ui.si)),
    string.format('MACs       %s', before_after(report, 'macs', ui.si)),
    string.format('nodes      %s', before_after(report, 'nodes', function(v)
      return tostring(nn(v) or '?')
    end)),
  }
  local lat = nn(report.latency)
  if type(lat) == 'table' then
    lines[#lines + 1] = string.format('latency    p50 %.1f ms -> %.1f ms (ratio %.3f, %d runs)', nn(lat.beforeP50Ms) or 0,
      nn(lat.afterP50Ms) or 0, nn(lat.ratio) or 0, nn(lat.runs) or 0)
  end
  local ev = nn(report.evaluation)
  if type(ev) == 'table' then
    lines[#lines + 1] = string.format('mIoU       %s -> %s on split %s (drop %s)', ui.pct((nn(ev.before) or {}).miou),
      ui.pct((nn(ev.after) or {}).miou), tostring(nn(ev.split) or '?'), ui.pct(ev.miouDrop))
  end
  if type(nn(report.durationMs)) == 'number' then
    lines[#lines + 1] = string.format('took       %.0f ms', report.durationMs)
  end
  local notes = {}
  for _, w in ipairs(nn(report.warnings) or {}) do
    notes[#notes + 1] = '  - ' .. w
  end
  for _, m in ipairs(nn(report.budgetMisses) or {}) do
    notes[#notes + 1] = string.format('  - budget missed: %s %s limit %s, achieved %s', tostring(nn(m.technique)),
      tostring(nn(m.parameter)), tostring(nn(m.limit)), tostring(nn(m.achieved)))
  end
  if #notes > 0 then
    lines[#lines + 1] = ''
    lines[#lines + 1] = 'Warnings'
    vim.list_extend(lines, notes)
  end
  return lines
end

return M
