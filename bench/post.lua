-- wrk script: the status question, POST with a JSON body and a bearer token.
-- Arguments (after `--`): token, first OFPRA number, how many people, recipient SIRET.
-- Each request names a person drawn at random among the loaded ones, so that lookups and journal
-- index inserts spread over the whole table instead of hitting one warm row.

local threads = {}
local token, first, people, recipient
sent = 0  -- global: done() reads it through thread:get

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

function init(args)
   token, first, people, recipient = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
   math.randomseed(os.time() * 100 + id)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
   sent = sent + 1
   local number = first + math.random(0, people - 1)
   local body = string.format('{"ofpra_number":"%d","recipient":"%s"}', number, recipient)
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   local total_sent = 0
   for _, thread in ipairs(threads) do
      total_sent = total_sent + thread:get("sent")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH-RESULT {"duration_us":%d,"requests":%d,"sent":%d,"non_2xx":%d,' ..
      '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.duration, summary.requests, total_sent, e.status, e.connect, e.read, e.write,
      e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
