//! The Lua scripts of the Redis versions (each runs atomically in Redis; `TIME` is Redis's
//! clock, so the nodes' clocks never matter). Keys: `v:` a scope's value, `w:` its in-flight
//! marks (a sorted set of write tokens by deadline), `m:` a row's mirror, `log` the change log
//! (a stream), `seq` the log's counter (see `follower.rs`). Numbers cross as strings.

/// The log's counter (`''`: none), then for each scope its value (a missing one gets the fresh
/// random value given) with its unexpired marks (count, then token and milliseconds left for
/// each), then each row's mirror (`''`: none).
///
/// KEYS: seq, `v:` × n, `w:` × n, `m:` × rows. ARGV: n, a fresh value × n.
pub(super) const READ: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local out = {redis.call('GET', KEYS[1]) or ''}
for i = 1, n do
  local v = redis.call('GET', KEYS[1 + i])
  if not v then
    v = ARGV[1 + i]
    redis.call('SET', KEYS[1 + i], v)
  end
  out[#out + 1] = v
  local marks = redis.call('ZRANGEBYSCORE', KEYS[1 + n + i], now, '+inf', 'WITHSCORES')
  out[#out + 1] = string.format('%d', #marks / 2)
  for j = 1, #marks, 2 do
    out[#out + 1] = marks[j]
    out[#out + 1] = string.format('%d', tonumber(marks[j + 1]) - now)
  end
end
for j = 2 * n + 2, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[j]) or ''
end
return out
";

/// Marks each scope in flight until now + window (expired marks are pruned here; no key has a
/// TTL, so a `volatile-*` eviction policy never evicts one) and gives it a new value; sets each
/// row's mirror to the version the transaction wrote; appends the change to the log.
///
/// KEYS: log, seq, `v:` × n, `w:` × n, `m:` × rows. ARGV: n, token, window (ms), counter
/// start, the log entry, the log's length, a new value × n, a version × rows.
pub(super) const PREPARE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
for i = 1, n do
  local marks = KEYS[2 + n + i]
  redis.call('ZREMRANGEBYSCORE', marks, '-inf', now - 1)
  redis.call('ZADD', marks, now + window, ARGV[2])
  redis.call('SET', KEYS[2 + i], ARGV[6 + i])
end
for j = 2 * n + 3, #KEYS do
  redis.call('SET', KEYS[j], ARGV[6 + n + j - (2 * n + 2)])
end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[4]) end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], '*', 'n', string.format('%d', seq), 'd', ARGV[5])
return 1
";

/// Removes a write's marks, gives its scopes new values once more (an entry stored in the
/// moment between a mark's expiry and a late commit cannot outlive the finish), and appends
/// that to the log.
///
/// KEYS: log, seq, `v:` × n, `w:` × n. ARGV: token, counter start, the log entry, the log's
/// length, a new value × n.
pub(super) const FINISH: &str = r"
local n = (#KEYS - 2) / 2
for i = 1, n do
  redis.call('ZREM', KEYS[2 + n + i], ARGV[1])
  redis.call('SET', KEYS[2 + i], ARGV[4 + i])
end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[2]) end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'n', string.format('%d', seq), 'd', ARGV[3])
return 1
";

/// Sets each row's mirror to the version given when it has none; returns the log's counter
/// (`''`: none), then every mirror.
///
/// KEYS: seq, `m:` × rows. ARGV: a version × rows.
pub(super) const HEAL: &str = r"
local out = {redis.call('GET', KEYS[1]) or ''}
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i - 1], 'NX')
  out[i] = redis.call('GET', KEYS[i])
end
return out
";

/// The log's counter (started at the value given when missing) and its last entry id, then
/// (when a position is given) the entries after the position: id, number, change.
///
/// KEYS: log, seq. ARGV: position (`''`: the end), most entries, counter start.
pub(super) const POLL: &str = r"
local seq = redis.call('GET', KEYS[2])
if not seq then
  seq = ARGV[3]
  redis.call('SET', KEYS[2], seq)
end
local id = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then id = last[1][1] end
if ARGV[1] == '' then return {seq, id} end
local out = {seq, id}
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
for _, e in ipairs(entries) do
  out[#out + 1] = e[1]
  out[#out + 1] = e[2][2]
  out[#out + 1] = e[2][4]
end
return out
";
