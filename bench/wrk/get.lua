-- A plain GET of the URL with the headers given by -H (cookie, Accept-Encoding): the code
-- page and the bare app's routes. Counts 2xx/3xx answers as `ok`.
local common = dofile("wrk/common.lua")
setup = common.setup
done = common.done

function init(args)
  stats = { ok = 0 }
end

function response(status, headers, body)
  if status >= 200 and status < 400 then stats.ok = stats.ok + 1 end
end
