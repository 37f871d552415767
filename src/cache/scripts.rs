//! The Lua scripts of the Redis versions (each runs atomically in Redis; `TIME` is Redis's
//! clock, so the nodes' clocks never matter).

/// Scope values (`v:`) and in-flight marks (`w:`, a sorted set of write tokens by deadline),
/// then row mirrors (`m:`). A scope whose value is gone gets a fresh random one; a scope with
/// an unexpired mark reads as the empty string.
pub(super) const READ: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if not v then
    redis.call('SET', KEYS[i], ARGV[1 + i], 'NX')
    v = redis.call('GET', KEYS[i])
  end
  if redis.call('ZCOUNT', KEYS[n + i], now, '+inf') > 0 then v = '' end
  out[i] = v
end
for j = 2 * n + 1, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[j]) or ''
end
return out
";

/// Marks each scope in flight until now + window and gives it a new value; sets each row's
/// mirror to the version the transaction wrote.
pub(super) const PREPARE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[n + i], '-inf', now)
  redis.call('ZADD', KEYS[n + i], now + window, ARGV[2])
  redis.call('PEXPIRE', KEYS[n + i], window * 2)
  redis.call('SET', KEYS[i], ARGV[3 + i])
end
for j = 2 * n + 1, #KEYS do
  redis.call('SET', KEYS[j], ARGV[3 + n + j - 2 * n])
end
return 1
";

pub(super) const FINISH: &str = r"
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
";

pub(super) const HEAL: &str = r"
local out = {}
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i], 'NX')
  out[i] = redis.call('GET', KEYS[i])
end
return out
";
