-- wrk script of the soak run (bench/soak.py): every connection cycles
-- through a fixed mix of requests (hello, a Django view, a 64 KiB body,
-- a 4 KiB POST echoed, a 1 MiB streamed body) and done() prints one
-- machine-readable line:
--   SOAK_RESULT {json}
local mix = {
  {"GET", "/hello"}, {"GET", "/django/"}, {"GET", "/hello"}, {"GET", "/big"},
  {"POST", "/echo"}, {"GET", "/hello"}, {"GET", "/django/"}, {"GET", "/big"},
  {"GET", "/hello"}, {"POST", "/echo"}, {"GET", "/hello"}, {"GET", "/django/"},
  {"GET", "/hello"}, {"GET", "/big"}, {"POST", "/echo"}, {"GET", "/hello"},
  {"GET", "/django/"}, {"GET", "/hello"}, {"GET", "/big"}, {"GET", "/stream"},
}
local body = string.rep("x", 4096)
local requests = {}
local i = 0

init = function(args)
  for n, r in ipairs(mix) do
    local headers = {}
    local b = nil
    if r[1] == "POST" then
      headers["Content-Type"] = "application/octet-stream"
      b = body
    end
    requests[n] = wrk.format(r[1], r[2], headers, b)
  end
  i = math.random(#requests) - 1
end

request = function()
  i = i % #requests + 1
  return requests[i]
end

done = function(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    'SOAK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"err_connect": %d, "err_read": %d, "err_write": %d, "err_status": %d, ' ..
    '"err_timeout": %d, "lat_p50_us": %d, "lat_p99_us": %d, "lat_max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
