-- One wrk script for every workload of bench/run.py, chosen by BENCH_MODE:
--   paths     GET a path picked at random from the file BENCH_PATHS (one per line)
--   cart      GET /api/cart/ as the thread's user
--   add       POST /api/cart/add/ one unit of a product picked from BENCH_IDS
--   checkout  add one unit, then POST /api/orders/create/, and again (orders counted); with
--             BENCH_METHOD, the order names that shipping method
-- The users' access tokens are in BENCH_TOKENS, one per line: thread n is user n, so run it
-- with as many threads as connections (-tN -cN) for one user per connection. At the end it
-- prints one line, BENCH {...}, that run.py reads.

local mode = os.getenv("BENCH_MODE") or "paths"
local threads = {}

local function lines(path)
  local out = {}
  if path == nil then return out end
  local file = io.open(path, "r")
  if file == nil then return out end
  for line in file:lines() do
    if line ~= "" then table.insert(out, line) end
  end
  file:close()
  return out
end

local tokens = nil

function setup(thread)
  if tokens == nil then tokens = lines(os.getenv("BENCH_TOKENS")) end
  table.insert(threads, thread)
  local n = #threads
  thread:set("id", n)
  if #tokens > 0 then thread:set("token", tokens[((n - 1) % #tokens) + 1]) end
end

local paths = {}
local ids = {}
local creating = false
orders = 0
local method = os.getenv("BENCH_METHOD")
local address = '{"shipping_address": {"full_name": "Bench User", "line1": "1 Load Street", '
  .. '"city": "Testville", "postal_code": "12345", "country": "US", "phone": "+15550100"}'
  .. (method and (', "shipping_method_id": ' .. method) or '') .. '}'

function init(args)
  paths = lines(os.getenv("BENCH_PATHS"))
  ids = lines(os.getenv("BENCH_IDS"))
  math.randomseed(os.time() * 1000 + (id or 0))
end

local function headers()
  local h = {["Content-Type"] = "application/json"}
  if token ~= nil then h["Authorization"] = "Bearer " .. token end
  return h
end

local function add()
  local product = ids[math.random(#ids)]
  return wrk.format("POST", "/api/cart/add/", headers(),
    '{"product_id": ' .. product .. ', "quantity": 1}')
end

function request()
  if mode == "paths" then
    return wrk.format("GET", paths[math.random(#paths)], headers())
  elseif mode == "cart" then
    return wrk.format("GET", "/api/cart/", headers())
  elseif mode == "add" then
    return add()
  end
  -- The checkout moves on in response(), not here: wrk may ask for a request it never sends.
  if creating then return wrk.format("POST", "/api/orders/create/", headers(), address) end
  return add()
end

-- Only the checkout looks at answers (a response function makes wrk parse every body); it
-- also tallies the statuses that are not 2xx, by step (add or create).
refused = ""
refusals = 0
if mode == "checkout" then
  function response(status, headers, body)
    if creating and status == 201 then orders = orders + 1 end
    if status >= 300 then
      refusals = refusals + 1
      if refusals <= 3 then
        local what = creating and "create" or "add"
        refused = refused .. " " .. what .. ":" .. status .. ":" .. string.sub(body, 1, 120)
      end
    end
    creating = not creating
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  local placed = 0
  for _, thread in ipairs(threads) do
    placed = placed + (thread:get("orders") or 0)
    local why = thread:get("refused")
    if why ~= nil and why ~= "" then io.write("REFUSED" .. why .. "\n") end
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "orders": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors, placed))
end
