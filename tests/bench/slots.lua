-- wrk script: GET /api/v1/slots for a random place in the demo city each time, so every
-- request resolves its zone in PostGIS (only the zone's availability can come from memory).
function init(args)
  math.randomseed(os.time() + math.random(1, 100000))
end

function request()
  local lat = 21.20 + math.random() * 0.10
  local lon = 81.58 + math.random() * 0.10
  return wrk.format("GET", string.format("/api/v1/slots?service=income_certificate&lat=%.5f&lon=%.5f&days=7", lat, lon))
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("requests %d in %.1f s = %.0f/s; non-2xx %d\n", summary.requests, secs,
    summary.requests / secs, summary.errors.status))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
