import { MAX_ERROR_CODES_PER_BUCKET } from './bucket';
import { STAMP_CHARS } from './dedup-cache';

/**
 * Bucket values over this many bytes are compacted (their segments merged into one) by the apply
 * script, so a series-bucket holds at most about this much plus one delta.
 */
export const COMPACT_BUCKET_BYTES = 8_192;

/**
 * Lua of the dedup state (see dedup.ts and dedup-cache.ts), shared by APPLY_LUA and APPLY2_LUA. A
 * connector-minute's identities are one string (dedupKey): a version stamp (STAMP_CHARS) followed
 * by the identities, IDENTITY_BYTES binary bytes each, appended. The client checks identities in
 * its own copy of the logs and names, per log, the stamp it holds ('' = absent); ids_current(g)
 * answers whether every log of the group still carries it, remember_ids(g) appends the group's
 * identities (ARGV[3]) and stamps the logs with this call's stamp (ARGV[4]). Needs int() defined
 * before it.
 */
const DEDUP_LUA = `
local ids = ARGV[3]
local stamp = ARGV[4]
local function ids_current(g)
  for _, d in ipairs(g.dd) do
    if redis.call('GETRANGE', KEYS[d[1]], 0, ${STAMP_CHARS - 1}) ~= d[5] then return false end
  end
  return true
end
-- Rewrites the logs named in g.dc at their exact size (APPEND leaves spare room); content unchanged.
local function compact_ids(g)
  if g.dc == nil then return end
  for _, i in ipairs(g.dc) do
    local v = redis.call('GET', KEYS[i])
    if v then redis.call('SET', KEYS[i], v, 'KEEPTTL') end
  end
end
local function remember_ids(g)
  for _, d in ipairs(g.dd) do
    local k = KEYS[d[1]]
    local v = string.sub(ids, d[3], d[4])
    if d[5] == '' then
      redis.call('SET', k, stamp .. v, 'PXAT', int(d[2]))
    else
      redis.call('SETRANGE', k, 0, stamp)
      redis.call('APPEND', k, v)
      -- Only ever extended (GT): a log keeps the latest expiry any write gave it.
      redis.call('PEXPIREAT', k, int(d[2]), 'GT')
    end
  end
end
`;

/**
 * What both layouts' apply scripts do per connector group around their bucket writes (needs
 * `field` and `int` in scope): check_group(g) answers -2 (batch already applied), the stored
 * offset (a partial overlap) or the known span identities, or nil when the group is to be applied;
 * finish_group(g) writes the series' last-seen times, the dropped counters, the identities and the
 * offset, after the buckets.
 */
const GROUP_LUA = `${DEDUP_LUA}
local function check_group(g)
  compact_ids(g)
  local stored = tonumber(redis.call('HGET', KEYS[g.o], field) or '-1')
  if stored >= g.lo then return -2 end
  if stored >= g.fo then return stored end
  if g.dd ~= nil and not ids_current(g) then return -3 end
  if g.v == 1 then return -4 end
  return nil
end
local function finish_group(g)
  local sk = KEYS[g.sk]
  for _, s in ipairs(g.s) do
    local cur = redis.call('HGET', sk, s[1])
    if (not cur) or tonumber(cur) < s[2] then redis.call('HSET', sk, s[1], int(s[2])) end
  end
  if g.x[1] > 0 then redis.call('HINCRBYFLOAT', KEYS[g.dk], 'late', g.x[1]) end
  if g.x[2] > 0 then redis.call('HINCRBYFLOAT', KEYS[g.dk], 'future', g.x[2]) end
  if g.x[3] ~= nil and g.x[3] > 0 then redis.call('HINCRBY', KEYS[g.dk], 'duplicates', g.x[3]) end
  if g.lw == 1 then redis.call('INCR', KEYS[g.gk]) end
  if g.dd ~= nil then remember_ids(g) end
  redis.call('HSET', KEYS[g.o], field, int(g.lo))
end
-- Every group of the call: checked, then apply(g) writes its buckets and finish_group the rest.
-- Returns one verdict per group (-1 applied).
local function run_groups(apply)
  local out = {}
  for gi, g in ipairs(p.g) do
    local verdict = check_group(g)
    if verdict ~= nil then
      out[gi] = verdict
    else
      apply(g)
      finish_group(g)
      out[gi] = -1
    end
  end
  return out
end
`;

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
 *          dd: [[key index of a minute's identity log, expireAt, first byte, last byte of its identities in ARGV[3],
 *                stamp expected]], v: 1 to only confirm the stamps, dc: [key indexes of logs to rewrite at their exact size]}]}
 * ARGV[2]: the delta segments ("\n" + bucket JSON each), concatenated.
 * ARGV[3]: span identities (traceId + spanId, IDENTITY_BYTES binary bytes each), concatenated (dedup).
 * ARGV[4]: this call's stamp (STAMP_CHARS characters) for the identity logs it writes.
 * Returns per group: -1 applied, -2 replayed (stored offset ≥ lo), -3 an identity log changed
 * (nothing written: the client reloads it and checks again), -4 the logs are current (a check
 * only: the client drops the identities it found in them and writes again), else the stored offset
 * (inside the batch: the client re-sends only the records after it).
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
${GROUP_LUA}
local function append_segments(g)
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
end
return run_groups(append_segments)
`;

/**
 * Layout-2 values (codec.ts) hold binary records; a value longer than this is compacted (its
 * records merged into one) by the script that appended to it.
 */
export const COMPACT_RECORDS_BYTES = 1_024;

/**
 * Lua of the layout-2 record codec and merge (the rules of codec.ts and mergeBucket()), shared by
 * APPLY2_LUA and MERGE2_LUA. rec_merge(acc, s, pos) reads one record at pos into acc (nil = empty)
 * and returns acc and the next position; rec_encode(acc) gives the bytes of one record.
 */
const RECORD_LUA = `
local MAXC = ${MAX_ERROR_CODES_PER_BUCKET}
local byte, char, floor = string.byte, string.char, math.floor
local function rdvar(s, p)
  local v, m = 0, 1
  while true do
    local b = byte(s, p)
    p = p + 1
    if b < 128 then return v + b * m, p end
    v = v + (b - 128) * m
    m = m * 128
  end
end
local function rdnum(s, p)
  local v
  v, p = rdvar(s, p)
  if v == 1 then return struct.unpack('<d', s, p) end
  return v / 2, p
end
local function wrvar(t, v)
  while v >= 128 do
    local r = v % 128
    t[#t + 1] = char(r + 128)
    v = (v - r) / 128
  end
  t[#t + 1] = char(v)
end
local function wrnum(t, x)
  if x >= 0 and x < 281474976710656 and x == floor(x) then wrvar(t, x * 2)
  else t[#t + 1] = '\\1' .. struct.pack('<d', x) end
end
local function addcode(acc, code, w)
  local e = acc.e
  if e[code] ~= nil then e[code] = e[code] + w return end
  if code ~= 'UNMAPPED' and code ~= '__overflow__' then
    if acc.n >= MAXC then
      code = '__overflow__'
      if e[code] ~= nil then e[code] = e[code] + w return end
    else
      acc.n = acc.n + 1
    end
  end
  e[code] = w
  acc.order[#acc.order + 1] = code
end
local function rec_merge(acc, s, p)
  if acc == nil then acc = { c = 0, s = 0, t = 0, e = {}, order = {}, n = 0, z = 0, l = {} } end
  local x
  x, p = rdnum(s, p) acc.c = acc.c + x
  x, p = rdnum(s, p) acc.s = acc.s + x
  x, p = rdnum(s, p) acc.t = acc.t + x
  local nc
  nc, p = rdvar(s, p)
  for _ = 1, nc do
    local len
    len, p = rdvar(s, p)
    local code = string.sub(s, p, p + len - 1)
    x, p = rdnum(s, p + len)
    addcode(acc, code, x)
  end
  x, p = rdnum(s, p)
  if x > 0 then acc.z = acc.z + x end
  local nb, idx
  nb, p = rdvar(s, p)
  local l = acc.l
  for i = 1, nb do
    local v
    v, p = rdvar(s, p)
    if i == 1 then
      if v % 2 == 0 then idx = v / 2 else idx = -(v + 1) / 2 end
    else
      idx = idx + v
    end
    x, p = rdnum(s, p)
    l[idx] = (l[idx] or 0) + x
  end
  return acc, p
end
local function rec_encode(acc)
  local t = {}
  wrnum(t, acc.c) wrnum(t, acc.s) wrnum(t, acc.t)
  wrvar(t, #acc.order)
  for _, code in ipairs(acc.order) do
    wrvar(t, #code)
    t[#t + 1] = code
    wrnum(t, acc.e[code])
  end
  wrnum(t, acc.z)
  local idx = {}
  for i in pairs(acc.l) do idx[#idx + 1] = i end
  table.sort(idx)
  wrvar(t, #idx)
  local prev = 0
  for j, i in ipairs(idx) do
    if j == 1 then
      if i >= 0 then wrvar(t, 2 * i) else wrvar(t, -2 * i - 1) end
    else
      wrvar(t, i - prev)
    end
    prev = i
    wrnum(t, acc.l[i])
  end
  return table.concat(t)
end
-- Merges every record of a stored value into one; returns nil when it already is one record.
local function rec_compact(v)
  local acc, p, n = nil, 1, 0
  while p <= #v do
    acc, p = rec_merge(acc, v, p)
    n = n + 1
  end
  if n <= 1 then return nil end
  return rec_encode(acc)
end
`;

/**
 * Applies tenant/connector groups atomically in bucket layout 2 (binary records, codec.ts), each
 * group idempotent on its own offset. A delta into a hot bucket (bucketKey) is appended as one
 * record (APPEND, nothing decoded), merged into one record when the value passes
 * COMPACT_RECORDS_BYTES. Buckets the client saw settle are named in `st`: a settled hour is
 * compacted in place; a settled minute is compacted and moved into its series' minute archive of
 * that hour (minuteArchiveKey, one entry per minute). A delta into a settled minute goes straight
 * into the archive, merged with the minute's entry; one into a settled hour is compacted at once.
 * KEYS: every key the groups touch (one Redis Cluster slot per call).
 * ARGV[1]: JSON {f: offset field, g: [{o, sk, dk, gk: key indexes, fo, lo: offsets,
 *          d: [[key index, expireAt, first byte, last byte of the record in ARGV[2], mode, minute of
 *              the hour]] (mode 0 append, 1 into the minute archive at key index, 2 append and compact),
 *          st: [[hot hour key index] | [hot minute key index, archive key index, minute of the hour,
 *              archive expireAt]], s: [[series field, lastSeen]], x: [late, future, duplicates], lw,
 *          dd: the group's span identities per minute, as in APPLY_LUA}]}
 * ARGV[2]: the delta records, concatenated. ARGV[3], ARGV[4]: span identities and stamp (dedup), as in APPLY_LUA.
 * Returns per group: -1 applied, -2 replayed (stored offset ≥ lo), -3 or -4 (dedup, as in
 * APPLY_LUA), else the stored offset.
 */
export const APPLY2_LUA = `${RECORD_LUA}
local LIMIT = ${COMPACT_RECORDS_BYTES}
local p = cjson.decode(ARGV[1])
local records = ARGV[2]
local field = p.f
local function int(x) return string.format('%.0f', x) end
local function compact(k)
  local v = redis.call('GET', k)
  if not v then return end
  local merged = rec_compact(v)
  if merged ~= nil then redis.call('SET', k, merged, 'KEEPTTL') end
end
local function entry(mi, rec)
  local t = { char(mi) }
  wrvar(t, #rec)
  t[#t + 1] = rec
  return table.concat(t)
end
-- Puts the records rec of minute mi (of the hour) into the minute archive a, keeping one entry per
-- minute: appended when the minute has none, else merged with it (late writes) and rewritten.
local function archive_put(a, mi, rec, exp)
  local cur = redis.call('GET', a)
  if not cur then
    redis.call('SET', a, entry(mi, rec_compact(rec) or rec), 'PXAT', int(exp))
    return
  end
  local p, n, found = 1, #cur, nil
  local others = {}
  while p <= n do
    local m = byte(cur, p)
    local len, q = rdvar(cur, p + 1)
    if m == mi then found = string.sub(cur, q, q + len - 1)
    else others[#others + 1] = string.sub(cur, p, q + len - 1) end
    p = q + len
  end
  -- SET rather than APPEND: an appended string keeps spare room (up to its size again), an
  -- archive is written about once per minute and then kept for the retention.
  if found == nil then
    redis.call('SET', a, cur .. entry(mi, rec_compact(rec) or rec), 'KEEPTTL')
    return
  end
  others[#others + 1] = entry(mi, rec_compact(found .. rec))
  redis.call('SET', a, table.concat(others), 'KEEPTTL')
end
-- Moves the settled hot minute h (minute mi of its hour) into the minute archive a.
local function settle_minute(h, a, mi, exp)
  local v = redis.call('GET', h)
  if not v then return end
  archive_put(a, mi, v, exp)
  redis.call('DEL', h)
end
-- The steps of one group, in order, each its own function so further per-group state can be
-- written in the same atomic step.
local function apply_buckets(g)
  for _, d in ipairs(g.d) do
    local k = KEYS[d[1]]
    local v = string.sub(records, d[3], d[4])
    if d[5] == 1 then
      archive_put(k, d[6], v, d[2])
    else
      local len = redis.call('APPEND', k, v)
      if len == #v then
        redis.call('PEXPIREAT', k, int(d[2]))
      elseif len > LIMIT or d[5] == 2 then
        compact(k)
      end
    end
  end
  for _, st in ipairs(g.st) do
    if #st == 1 then compact(KEYS[st[1]]) else settle_minute(KEYS[st[1]], KEYS[st[2]], st[3], st[4]) end
  end
end
${GROUP_LUA}
return run_groups(apply_buckets)
`;

/**
 * Test hook of the Lua codec: merges the records of ARGV[1] with the apply script's code and
 * returns one record (what compaction stores). No keys.
 */
export const MERGE2_LUA = `${RECORD_LUA}
local acc, p = nil, 1
local v = ARGV[1]
while p <= #v do acc, p = rec_merge(acc, v, p) end
if acc == nil then return '' end
return rec_encode(acc)
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

/**
 * Raises a partition's resume offset (the next offset to handle), never lowering it.
 * KEYS[1]: resume-offsets hash; ARGV[1]: field "<source>|<partition>"; ARGV[2]: next offset.
 */
export const RESUME_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0
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
