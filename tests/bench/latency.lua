-- wrk script: prints p50/p99 for plain GETs.
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("requests %d in %.1f s = %.0f/s; non-2xx %d\n", summary.requests, secs,
    summary.requests / secs, summary.errors.status))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
