-- wrk script shared by every cell.
--   BENCH_POST_BYTES=N  -> send POST requests with an N-byte body (echo app)
-- done() prints one machine-readable line that bench/run.py parses:
--   BENCH_RESULT {json}
local post_bytes = tonumber(os.getenv("BENCH_POST_BYTES") or "0")
if post_bytes > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("x", post_bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"err_connect": %d, "err_read": %d, "err_write": %d, "err_status": %d, ' ..
    '"err_timeout": %d, "lat_mean_us": %.1f, "lat_max_us": %d, ' ..
    '"lat_p50_us": %d, "lat_p90_us": %d, "lat_p99_us": %d, "lat_p999_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
