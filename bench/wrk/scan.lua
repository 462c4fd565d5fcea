-- One whole scan per person without JavaScript, every request the volunteer's browser makes
-- (the scan page itself sends one JSON record a person instead: wrk/scan_json.lua):
--   POST /checkpoint/verify/token (the token read by the camera)  -> 303 to the record page
--   GET  /checkpoint/records/<id>  (colour, masked identity, the form)
--   POST /checkpoint/records (temperature 36.5, pass)        -> 303 to the station
--   GET  /checkpoint/ (the station page, with the flash)
-- Run with one connection per thread (-t N -c N): each thread walks its own person at a time.
-- Env: BENCH_TOKENS (a file of live tokens, one a line; the token is what comes before a tab),
-- BENCH_COOKIE (the staff session), BENCH_CSRF (the scan form's csrf_token), BENCH_THREADS.
local common = dofile("wrk/common.lua")
setup = common.setup
done = common.done

local FORM = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept-Encoding"] = "gzip",
               ["User-Agent"] = "gantong-bench", ["Accept-Language"] = "en" }
local tokens, csrf, jar
local step, next_token, waiting, answered = 0, 0, false, false
local started, record_path, record_id, reference

function init(args)
  tokens = common.lines(os.getenv("BENCH_TOKENS"), tid, nthreads)
  if #tokens == 0 then tokens = common.lines(os.getenv("BENCH_TOKENS"), 0, 1) end
  next_token = tid % #tokens
  csrf = common.urlencode(os.getenv("BENCH_CSRF"))
  jar = common.jar(os.getenv("BENCH_COOKIE"))
  stats = { persons = 0, refused = 0, flow_errors = 0, lost = 0 }
  flows = {}
end

local function headers(form)
  local h = {}
  for k, v in pairs(FORM) do if form or k ~= "Content-Type" then h[k] = v end end
  h["Cookie"] = common.cookie(jar)
  return h
end

function request()
  if tokens == nil then -- wrk's main state checks the script once before the threads start
    return wrk.format("GET", "/checkpoint/")
  end
  if waiting and answered then -- the previous request got no response (socket error): start anew
    stats.lost = stats.lost + 1   -- (wrk builds one request per thread that it never sends)
    step = 0
  end
  waiting = true
  if step == 0 then
    next_token = next_token % #tokens + 1
    started = common.now()
    local body = "csrf_token=" .. csrf .. "&method=camera&token="
      .. common.urlencode(tokens[next_token]:match("^[^\t]+"))
    return wrk.format("POST", "/checkpoint/verify/token", headers(true), body)
  elseif step == 1 then
    return wrk.format("GET", record_path, headers(false))
  elseif step == 2 then
    local body = "record_id=" .. common.urlencode(record_id) .. "&reference=" .. common.urlencode(reference)
      .. "&temperature=36.5&decision=pass&note="
    return wrk.format("POST", "/checkpoint/records", headers(true), body)
  else
    return wrk.format("GET", "/checkpoint/", headers(false))
  end
end

local function fail()
  stats.flow_errors = stats.flow_errors + 1
  step = 0
end

function response(status, headers, body)
  waiting, answered = false, true
  common.update(jar, headers)
  if step == 0 then
    local location = common.path(headers["Location"])
    if status == 303 and location and location:find("/checkpoint/records/", 1, true) then
      record_path, step = location, 1
    elseif status == 200 then
      stats.refused = stats.refused + 1 -- the refused screen: nothing was recorded
      step = 0
    else
      fail()
    end
  elseif step == 1 then
    local page = status == 200 and common.text(body) or nil
    record_id = page and page:match('name="record_id" type="hidden" value="([^"]+)"')
    reference = page and page:match('name="reference" type="hidden" value="([^"]+)"')
    if record_id and reference then step = 2 else fail() end
  elseif step == 2 then
    if status == 303 then step = 3 else fail() end
  else
    if status == 200 then
      stats.persons = stats.persons + 1
      flows[#flows + 1] = string.format("%.6f", common.now() - started)
      stats.flows = table.concat(flows, " ")
      step = 0
    else
      fail()
    end
  end
end
