-- One scan per person as the scan page does it (static/js/scan.js, sent by static/js/queue.js):
-- the browser verified the code itself, so the one request is the record, as JSON:
--   POST /checkpoint/scan-records {record_id, token, scanned_at, shown_colour, offline,
--                                  temperature, decision, note}  -> 201 {"stored": true, ...}
-- with the staff session cookie. record_id is a fresh random UUID (version 4, lower case, as
-- crypto.randomUUID() makes it) per person, scanned_at the time of the read (now, Unix seconds).
-- A person counts when the answer is 201 with "stored": true (a 200 is a repeat, which a fresh
-- id never is). Several connections per thread are fine: a person is one request.
-- Env: BENCH_TOKENS (a file of live tokens, one a line, with their colour after a tab),
-- BENCH_COOKIE (the staff session), BENCH_THREADS.
local common = dofile("wrk/common.lua")
setup = common.setup
done = common.done

local tokens, cookie, random
local next_token = 0

function init(args)
  tokens = {}
  for _, line in ipairs(common.lines(os.getenv("BENCH_TOKENS"), tid, nthreads)) do
    local text, colour = line:match("^([^\t]+)\t?(%a*)$")
    tokens[#tokens + 1] = { text = text, colour = colour }
  end
  if #tokens == 0 then
    for _, line in ipairs(common.lines(os.getenv("BENCH_TOKENS"), 0, 1)) do
      local text, colour = line:match("^([^\t]+)\t?(%a*)$")
      tokens[#tokens + 1] = { text = text, colour = colour }
    end
  end
  next_token = tid % #tokens
  cookie = os.getenv("BENCH_COOKIE")
  random = io.open("/dev/urandom", "rb")
  stats = { persons = 0, refused = 0, flow_errors = 0, repeats = 0 }
end

-- A random (version 4) UUID in the canonical lower-case form that scan_records.valid_record_id takes.
local function uuid4()
  local b = { random:read(16):byte(1, 16) }
  b[7] = bit.bor(bit.band(b[7], 0x0f), 0x40)
  b[9] = bit.bor(bit.band(b[9], 0x3f), 0x80)
  local hex = string.format(string.rep("%02x", 16), unpack(b))
  return hex:sub(1, 8) .. "-" .. hex:sub(9, 12) .. "-" .. hex:sub(13, 16) .. "-" .. hex:sub(17, 20)
    .. "-" .. hex:sub(21, 32)
end

function request()
  if tokens == nil then -- wrk's main state checks the script once before the threads start
    return wrk.format("GET", "/checkpoint/sw.js")
  end
  next_token = next_token % #tokens + 1
  local token = tokens[next_token]
  -- The fields and their types as the page sends them: the form's values are strings. The
  -- decision is left to the server (pass for a green code under 37.3, else refer): a pass of
  -- the yellow and red demo holders would need the override and be refused (422).
  local body = string.format(
    '{"record_id":"%s","token":"%s","scanned_at":%d,"shown_colour":"%s","offline":true,'
      .. '"temperature":"36.5","decision":"","note":""}',
    uuid4(), token.text, os.time(), token.colour)
  return wrk.format("POST", "/checkpoint/scan-records", {
    ["Content-Type"] = "application/json", ["Accept"] = "application/json",
    ["Accept-Encoding"] = "gzip", ["Accept-Language"] = "en", ["User-Agent"] = "gantong-bench",
    ["Cookie"] = cookie }, body)
end

function response(status, headers, body)
  local answer = common.text(body) or ""
  if status == 201 and answer:find('"stored":%s*true') then
    stats.persons = stats.persons + 1
  elseif status == 200 then
    stats.repeats = stats.repeats + 1
    stats.flow_errors = stats.flow_errors + 1
  elseif status == 422 and answer:find('"error":%s*"refused"') then
    stats.refused = stats.refused + 1 -- the server did not accept the code: nothing stored
  else
    stats.flow_errors = stats.flow_errors + 1
  end
end
