-- The record submit alone: POST /checkpoint/records as the record page's form does, each with
-- a record id of its own (opened beforehand), so the idempotency check never short-circuits.
-- A 303 (to the station) is sent after the commit: it counts as one durable record.
-- Env: BENCH_RECORDS (a file of "record_id reference" lines), BENCH_COOKIE, BENCH_THREADS.
-- A thread that has used up its share of the pool stops (counted as `exhausted`).
local common = dofile("wrk/common.lua")
setup = common.setup
done = common.done

local records, next_record, cookie

function init(args)
  records = common.lines(os.getenv("BENCH_RECORDS"), tid, nthreads)
  next_record = 0
  cookie = os.getenv("BENCH_COOKIE")
  stats = { durable = 0, other = 0, exhausted = 0, repeats = 0 }
end

function request()
  if records == nil then -- wrk's main state checks the script once before the threads start
    return wrk.format("GET", "/checkpoint/sw.js")
  end
  next_record = next_record + 1
  local line = records[math.min(next_record, #records)]
  if next_record > #records then stats.repeats = stats.repeats + 1 end
  local record_id, reference = line:match("^(%S+) (%S+)$")
  local body = "record_id=" .. common.urlencode(record_id) .. "&reference=" .. common.urlencode(reference)
    .. "&temperature=36.5&decision=pass&note="
  return wrk.format("POST", "/checkpoint/records", {
    ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept-Encoding"] = "gzip",
    ["User-Agent"] = "gantong-bench", ["Cookie"] = cookie }, body)
end

function response(status, headers, body)
  if status == 303 and next_record <= #records then
    stats.durable = stats.durable + 1
  else
    stats.other = stats.other + 1
  end
  if next_record >= #records then
    stats.exhausted = 1
    wrk.thread:stop()
  end
end
