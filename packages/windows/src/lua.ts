import { MAX_ERROR_CODES_PER_BUCKET } from './bucket';
import { IDENTITY_BYTES } from './dedup';

/**
 * Bucket values over this many bytes are compacted (their segments merged into one) by the apply
 * script, so a series-bucket holds at most about this much plus one delta.
 */
export const COMPACT_BUCKET_BYTES = 8_192;

/**
 * Applies tenant/connector groups atomically, each idempotent on its own offset.
 * A bucket value is a log of JSON segments, each led by "\n": a delta is appended (APPEND, no
 * decoding), and once the value passes COMPACT_BUCKET_BYTES the script merges its segments into
 * one. Readers merge the segments they find (parseBucketValue). A plain JSON value (no leading
 * newline) is one segment too.
 * KEYS: every key the groups touch (one Redis Cluster slot per call).
 * ARGV[1]: JSON {f: offset field, g: [{o, sk, dk, gk: key indexes, fo, lo: offsets,
 *          d: [[key index, expireAt, first byte, last byte of the delta segment in ARGV[2]]], s: [[series field, lastSeen]],
 *          x: [late, future, duplicates], lw: 1 when the group writes into a settled hour (bumps the generation at gk),
 *          dd: [[key index of a minute's identity set, expireAt, first byte, last byte of its identities in ARGV[3]]]}]}
 * ARGV[2]: the delta segments ("\n" + bucket JSON each), concatenated.
 * ARGV[3]: span identities (traceId + spanId, IDENTITY_BYTES binary bytes each), concatenated (dedup).
 * Returns per group: -1 applied, -2 replayed (stored offset ≥ lo), a list of the 1-based positions
 * (over its dd entries in order) of identities already stored (nothing written: the client drops
 * those events and writes again), else the stored offset (inside the batch: the client re-sends
 * only the records after it).
 * The merge rule is the one of mergeBucket() in bucket.ts.
 */
export const APPLY_LUA = `
local MAXC = ${MAX_ERROR_CODES_PER_BUCKET}
local COMPACT = ${COMPACT_BUCKET_BYTES}
local p = cjson.decode(ARGV[1])
local segments = ARGV[2]
local field = p.f
local function int(x) return string.format('%.0f', x) end
local function merge(into, from)
  into.c = into.c + from.c
  into.s = into.s + from.s
  into.t = into.t + from.t
  local n = 0
  for code in pairs(into.e) do
    if code ~= 'UNMAPPED' and code ~= '__overflow__' then n = n + 1 end
  end
  for code, w in pairs(from.e) do
    if into.e[code] ~= nil then
      into.e[code] = into.e[code] + w
    elseif code == 'UNMAPPED' or code == '__overflow__' then
      into.e[code] = w
    elseif n < MAXC then
      into.e[code] = w
      n = n + 1
    else
      into.e['__overflow__'] = (into.e['__overflow__'] or 0) + w
    end
  end
  for k, w in pairs(from.l) do into.l[k] = (into.l[k] or 0) + w end
end
local function compact(k)
  local acc = nil
  for seg in string.gmatch(redis.call('GET', k), '[^\\n]+') do
    local v = cjson.decode(seg)
    if acc == nil then acc = v else merge(acc, v) end
  end
  if acc ~= nil then redis.call('SET', k, '\\n' .. cjson.encode(acc), 'KEEPTTL') end
end
local ids = ARGV[3]
local IDB = ${IDENTITY_BYTES}
local CHUNK = 4000
-- The identities of dd entry d, positions first..last within the entry, as command arguments.
local function id_args(d, first, last)
  local args = {}
  for j = first, last do
    local at = d[3] + (j - 1) * IDB
    args[#args + 1] = string.sub(ids, at, at + IDB - 1)
  end
  return args
end
-- Checks the group's identities; returns the positions of those already stored, and the argument
-- chunks per dd entry (built once, reused by remember_ids).
local function known_ids(g)
  local found = {}
  local chunks = {}
  local pos = 0
  for di, d in ipairs(g.dd) do
    local k = KEYS[d[1]]
    local n = (d[4] - d[3] + 1) / IDB
    local exists = redis.call('EXISTS', k) == 1
    chunks[di] = {}
    for i = 1, n, CHUNK do
      local last = math.min(n, i + CHUNK - 1)
      local args = id_args(d, i, last)
      chunks[di][#chunks[di] + 1] = args
      if exists then
        local r = redis.call('SMISMEMBER', k, unpack(args))
        for j = i, last do if r[j - i + 1] == 1 then found[#found + 1] = pos + j end end
      end
    end
    pos = pos + n
  end
  return found, chunks
end
-- The last known_ids answer (its positions and argument chunks), for the branch that follows.
local found, chunks = {}, {}
local function has_known_ids(g)
  if g.dd == nil or #g.dd == 0 then
    found, chunks = {}, {}
  else
    found, chunks = known_ids(g)
  end
  return #found > 0
end
local function remember_ids(g, chunks)
  for di, d in ipairs(g.dd) do
    local k = KEYS[d[1]]
    for _, args in ipairs(chunks[di]) do redis.call('SADD', k, unpack(args)) end
    if redis.call('PEXPIRETIME', k) < d[2] then redis.call('PEXPIREAT', k, int(d[2])) end
  end
end
local out = {}
for gi, g in ipairs(p.g) do
  local okey = KEYS[g.o]
  local stored = tonumber(redis.call('HGET', okey, field) or '-1')
  if stored >= g.lo then
    out[gi] = -2
  elseif stored >= g.fo then
    out[gi] = stored
  elseif has_known_ids(g) then
    out[gi] = found
  else
    for _, d in ipairs(g.d) do
      local k = KEYS[d[1]]
      local v = string.sub(segments, d[3], d[4])
      local len = redis.call('APPEND', k, v)
      if len == #v then
        redis.call('PEXPIREAT', k, int(d[2]))
      elseif len > COMPACT then
        compact(k)
      end
    end
    local sk = KEYS[g.sk]
    for _, s in ipairs(g.s) do
      local cur = redis.call('HGET', sk, s[1])
      if (not cur) or tonumber(cur) < s[2] then redis.call('HSET', sk, s[1], int(s[2])) end
    end
    if g.x[1] > 0 then redis.call('HINCRBYFLOAT', KEYS[g.dk], 'late', g.x[1]) end
    if g.x[2] > 0 then redis.call('HINCRBYFLOAT', KEYS[g.dk], 'future', g.x[2]) end
    if g.x[3] > 0 then redis.call('HINCRBY', KEYS[g.dk], 'duplicates', g.x[3]) end
    if g.lw == 1 then redis.call('INCR', KEYS[g.gk]) end
    if g.dd ~= nil then remember_ids(g, chunks) end
    redis.call('HSET', okey, field, int(g.lo))
    out[gi] = -1
  end
end
return out
`;

/**
 * Raises last-seen times in the connector index (a max, so replays are harmless).
 * KEYS[1]: tenants hash; KEYS[2..]: connectors hash per tenant. ARGV[1]: JSON [[tenant, [[connector, t]]]]
 * in the order of KEYS[2..].
 */
export const INDEX_LUA = `
local p = cjson.decode(ARGV[1])
for i, t in ipairs(p) do
  local ck = KEYS[i + 1]
  local tmax = 0
  for _, c in ipairs(t[2]) do
    local cur = redis.call('HGET', ck, c[1])
    if (not cur) or tonumber(cur) < c[2] then redis.call('HSET', ck, c[1], string.format('%.0f', c[2])) end
    if c[2] > tmax then tmax = c[2] end
  end
  local cur = redis.call('HGET', KEYS[1], t[1])
  if (not cur) or tonumber(cur) < tmax then redis.call('HSET', KEYS[1], t[1], string.format('%.0f', tmax)) end
end
return 1
`;

/** Stores a catalog entry unless the stored one is newer. KEYS[1]: catalog key; ARGV[1]: JSON; ARGV[2]: its "at". */
export const CATALOG_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local old = cjson.decode(cur)
  if tonumber(old.at) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;
