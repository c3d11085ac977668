-- wrk script: POST /api/v1/bookings with a random window and place from bench-targets.lua,
-- a fresh beneficiary phone and Idempotency-Key each time; counts replies by status.
local targets = dofile(os.getenv("MITAN_BENCH_TARGETS"))
local token = os.getenv("MITAN_BENCH_TOKEN")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  status = {}
  math.randomseed(id * 7919 + os.time())
  counter = 0
end

function request()
  counter = counter + 1
  local t = targets[math.random(#targets)]
  local phone = string.format("+9198%08d", math.random(0, 99999999))
  local body = string.format(
    '{"service":"income_certificate","start":"%s","location":{"lat":%.5f,"lon":%.5f},' ..
    '"address":"House %d, Raipur","beneficiary":{"name":"Bench Resident","phone":"%s","language":"hi"}}',
    t.start, t.lat + (math.random() - 0.5) * 0.02, t.lon + (math.random() - 0.5) * 0.02, counter, phone)
  return wrk.format("POST", "/api/v1/bookings", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", id, counter, math.random(1, 1e9)),
  }, body)
end

function response(s, headers, body)
  status[s] = (status[s] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local st = thread:get("status")
    for k, v in pairs(st) do total[k] = (total[k] or 0) + v end
  end
  local secs = summary.duration / 1e6
  io.write(string.format("requests %d in %.1f s\n", summary.requests, secs))
  for k, v in pairs(total) do io.write(string.format("status %d: %d (%.0f/s)\n", k, v, v / secs)) end
  io.write(string.format("latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("errors: connect %d, read %d, write %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
