-- The scan page's queue sending what waits in one request (static/js/queue.js): a JSON array of
-- BENCH_BATCH records (default 10), each as scan_json.lua makes it (a fresh random UUID, a live
-- token, scanned_at now), to POST /checkpoint/scan-records with the staff session.
-- The answer is 200 {"results": [...]}, one result per record in order; a record counts as
-- acknowledged (durable: the answer comes after the commit) when its result is 201 with
-- "stored": true. Env: BENCH_TOKENS, BENCH_COOKIE, BENCH_THREADS, BENCH_BATCH.
local common = dofile("wrk/common.lua")
setup = common.setup
done = common.done

local tokens, cookie, random, batch
local next_token = 0

function init(args)
  tokens = {}
  for _, line in ipairs(common.lines(os.getenv("BENCH_TOKENS"), 0, 1)) do
    local text, colour = line:match("^([^\t]+)\t?(%a*)$")
    tokens[#tokens + 1] = { text = text, colour = colour }
  end
  next_token = tid % #tokens
  cookie = os.getenv("BENCH_COOKIE")
  batch = tonumber(os.getenv("BENCH_BATCH") or "10")
  random = io.open("/dev/urandom", "rb")
  stats = { durable = 0, batches = 0, refused = 0, flow_errors = 0, repeats = 0 }
end

local function uuid4()
  local b = { random:read(16):byte(1, 16) }
  b[7] = bit.bor(bit.band(b[7], 0x0f), 0x40)
  b[9] = bit.bor(bit.band(b[9], 0x3f), 0x80)
  local hex = string.format(string.rep("%02x", 16), unpack(b))
  return hex:sub(1, 8) .. "-" .. hex:sub(9, 12) .. "-" .. hex:sub(13, 16) .. "-" .. hex:sub(17, 20)
    .. "-" .. hex:sub(21, 32)
end

function request()
  if tokens == nil then
    return wrk.format("GET", "/checkpoint/sw.js")
  end
  local records = {}
  for i = 1, batch do
    next_token = next_token % #tokens + 1
    local token = tokens[next_token]
    records[i] = string.format(
      '{"record_id":"%s","token":"%s","scanned_at":%d,"shown_colour":"%s","offline":true,'
        .. '"temperature":"36.5","decision":"","note":""}',
      uuid4(), token.text, os.time(), token.colour)
  end
  return wrk.format("POST", "/checkpoint/scan-records", {
    ["Content-Type"] = "application/json", ["Accept"] = "application/json",
    ["Accept-Encoding"] = "gzip", ["Accept-Language"] = "en", ["User-Agent"] = "gantong-bench",
    ["Cookie"] = cookie }, "[" .. table.concat(records, ",") .. "]")
end

function response(status, headers, body)
  local answer = common.text(body) or ""
  if status ~= 200 then
    stats.flow_errors = stats.flow_errors + 1
    return
  end
  stats.batches = stats.batches + 1
  local _, stored = answer:gsub('"stored":%s*true', "")
  local _, refused = answer:gsub('"error":%s*"refused"', "")
  local _, results = answer:gsub('"status":', "")
  stats.durable = stats.durable + stored
  stats.refused = stats.refused + refused
  if results ~= batch or stored + refused ~= batch then
    stats.flow_errors = stats.flow_errors + 1
  end
end
