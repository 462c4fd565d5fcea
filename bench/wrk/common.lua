-- Shared by the bench's wrk scripts (run by bench/throughput.py with bench/ as the working
-- folder): thread numbering, a cookie jar, gunzip, a clock, and one JSON line of figures.
local M = {}
local ffi = require("ffi")

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
typedef struct bench_z_stream {
  const unsigned char *next_in; unsigned avail_in; unsigned long total_in;
  unsigned char *next_out; unsigned avail_out; unsigned long total_out;
  const char *msg; void *state; void *zalloc; void *zfree; void *opaque;
  int data_type; unsigned long adler; unsigned long reserved;
} bench_z_stream;
const char *zlibVersion(void);
int inflateInit2_(bench_z_stream *strm, int windowBits, const char *version, int stream_size);
int inflate(bench_z_stream *strm, int flush);
int inflateEnd(bench_z_stream *strm);
]]

local ts = ffi.new("bench_timespec")
function M.now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local zlib = nil
local out_size = 1024 * 1024
local out_buf = nil
-- The body as text: gunzipped when it is gzip (pages are sent compressed, as to a browser).
function M.text(body)
  if body == nil or body:byte(1) ~= 0x1f or body:byte(2) ~= 0x8b then return body end
  if zlib == nil then
    zlib = ffi.load("z")
    out_buf = ffi.new("unsigned char[?]", out_size)
  end
  local stream = ffi.new("bench_z_stream")
  if zlib.inflateInit2_(stream, 31, zlib.zlibVersion(), ffi.sizeof(stream)) ~= 0 then return nil end
  stream.next_in, stream.avail_in = body, #body
  stream.next_out, stream.avail_out = out_buf, out_size
  local rc = zlib.inflate(stream, 4) -- Z_FINISH
  local text = ffi.string(out_buf, out_size - stream.avail_out)
  zlib.inflateEnd(stream)
  if rc ~= 1 then return nil end -- Z_STREAM_END
  return text
end

function M.urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- A cookie jar per thread (each flow script runs one connection per thread).
function M.jar(header)
  local jar = {}
  for name, value in (header or ""):gmatch("([^=;%s]+)=([^;]*)") do jar[name] = value end
  return jar
end
function M.update(jar, headers)
  local set = headers["Set-Cookie"] or headers["set-cookie"]
  if set then
    local name, value = set:match("^%s*([^=;%s]+)=([^;]*)")
    if name then
      if value == "" or set:find("[Ee]xpires=Thu, 01 Jan 1970") then jar[name] = nil else jar[name] = value end
    end
  end
end
function M.cookie(jar)
  local parts = {}
  for name, value in pairs(jar) do parts[#parts + 1] = name .. "=" .. value end
  return table.concat(parts, "; ")
end

-- The path of a Location header (absolute or relative).
function M.path(location)
  if location == nil then return nil end
  return (location:gsub("^https?://[^/]+", ""))
end

-- One line per thread of a file, dealt out: thread `tid` of `n` takes lines tid, tid+n, ...
function M.lines(path, tid, n)
  local mine, i = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % n == tid then mine[#mine + 1] = line end
      i = i + 1
    end
  end
  return mine
end

local threads, counter = {}, 0
function M.setup(thread)
  thread:set("tid", counter)
  thread:set("nthreads", tonumber(os.getenv("BENCH_THREADS") or "1"))
  counter = counter + 1
  threads[#threads + 1] = thread
end

local function percentile(sorted, p)
  if #sorted == 0 then return nil end
  local i = math.max(1, math.min(#sorted, math.ceil(#sorted * p / 100)))
  return sorted[i]
end

local function encode(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for k, v in pairs(value) do parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(v)) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then return "null" end
    return string.format("%.6g", value)
  elseif kind == "boolean" then
    return tostring(value)
  elseif value == nil then
    return "null"
  end
  return string.format("%q", tostring(value))
end

-- Sum each thread's flat `stats` table (numbers are added; strings are space-separated
-- durations in seconds, merged: wrk copies nested tables between threads badly)
-- and print one JSON line that throughput.py reads.
function M.done(summary, latency, requests)
  local out = {
    seconds = summary.duration / 1e6,
    requests = summary.requests,
    bytes = summary.bytes,
    status_errors = summary.errors.status,
    socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    timeouts = summary.errors.timeout,
    p50_ms = latency:percentile(50) / 1000,
    p90_ms = latency:percentile(90) / 1000,
    p99_ms = latency:percentile(99) / 1000,
    max_ms = latency.max / 1000,
    counters = {},
  }
  local flows = {}
  for _, thread in ipairs(threads) do
    local stats = thread:get("stats")
    if stats then
      for name, value in pairs(stats) do
        if type(value) == "number" then
          out.counters[name] = (out.counters[name] or 0) + value
        elseif type(value) == "string" then
          for v in value:gmatch("%S+") do flows[#flows + 1] = tonumber(v) end
        end
      end
    end
  end
  if #flows > 0 then
    table.sort(flows)
    out.flow_p50_ms = percentile(flows, 50) * 1000
    out.flow_p99_ms = percentile(flows, 99) * 1000
    out.flow_max_ms = flows[#flows] * 1000
  end
  io.write("BENCH_JSON " .. encode(out) .. "\n")
end

return M
