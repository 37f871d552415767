-- wrk script: every request registers a new account (a unique email per thread and request),
-- and the statuses are tallied per thread and summed at the end.
local counter = 0
local thread_id = 0
statuses = {}
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email": "flood-%d-%d-%d@example.com", "password": "correct horse battery staple"}',
    thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/auth/register/", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for k, v in pairs(s) do totals[k] = (totals[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(totals) do table.insert(parts, k .. "=" .. v) end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
