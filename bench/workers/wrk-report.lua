-- wrk script for bench:workers. Arguments after wrk's "--":
--   [count]        count each worker's answers (the x-worker header); costs wrk some speed, so only where shares are wanted
--   [slow-every N] ask for /slow instead of / on every Nth request of a thread
-- done() prints one JSON line: requests, failures by kind, the latency
-- percentiles in microseconds, and the answers per worker.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  local slow_every = 0
  local counting = false
  local i = 1
  while i <= #args do
    if args[i] == "count" then
      counting = true
    elseif args[i] == "slow-every" then
      slow_every = tonumber(args[i + 1])
      i = i + 1
    end
    i = i + 1
  end
  if counting then
    response = function(status, headers, body)
      local worker = headers["x-worker"] or "none"
      counts[worker] = (counts[worker] or 0) + 1
    end
  end
  if slow_every > 0 then
    local plain = wrk.format(nil, "/")
    local slow = wrk.format(nil, "/slow")
    local n = 0
    request = function()
      n = n + 1
      if n % slow_every == 0 then
        return slow
      end
      return plain
    end
  end
end

function done(summary, latency, requests)
  local workers = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for worker, n in pairs(c) do
      workers[worker] = (workers[worker] or 0) + n
    end
  end
  local parts = {}
  for worker, n in pairs(workers) do
    table.insert(parts, string.format('"%s":%d', worker, n))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"p50Us":%d,"p99Us":%d,"p999Us":%d,"workers":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), table.concat(parts, ",")))
end
