/**
 * The Redis store's server-side steps, one Lua script each (docs/design.md, "Stores"). Redis runs a
 * script whole, with nothing of any other client in between, so a script is the cross-instance
 * equivalent of the memory store's synchronous `rotate`: of any number of concurrent refreshes of
 * one token, whichever instances they reach, exactly one finds it unrotated.
 *
 * Every script takes ARGV[1] = the key prefix, ARGV[2] = the instance's live settings as JSON
 * (used only when the cluster's shared copy, `<prefix>cfg`, is absent) and ARGV[3] = how long a
 * record outlives its lab expiry in Redis (an hour; tests shorten it to watch Redis expire them).
 * Timestamps are lab-clock milliseconds, passed in by the caller. Keys, under `<prefix>s:` so a
 * reset drops them at once:
 *   f:<family>   hash u (user) c (created) e (expires) s (status) g (generation) ra rr (revoked at, why)
 *                     ci sc (the OAuth client and scope granted at sign-in, '' when none)
 *                     at (when the user signed in, real ms, for ID tokens; '' when not kept)
 *   t:<sha256>   hash f (family) g (generation) i (issued) e (expires) r (rotated at, '' if not)
 *                     n (grace uses) c (hash of the child a rotation issued)
 *   fams, uf:<user>, ft:<family>  sets: every family, a user's families, a family's tokens
 * Each record carries a TTL of its lab expiry plus ARGV[3], so nothing needs sweeping but the sets.
 * ft:<family> expires with its family and uf:<user> with the user's last family (a sign-in also
 * drops a few of its members whose family is gone); fams is pruned by COUNT_AND_PRUNE, in slices.
 */

const PRELUDE = `
local p = ARGV[1]
local cfg = cjson.decode(redis.call('GET', p .. 'cfg') or ARGV[2])
local RETAIN = tonumber(ARGV[3])
-- Whole numbers as digits: Lua's own tostring would write a year-9999 instant as 2.5e+14.
local function s(n) return string.format('%.0f', n) end
local function famKey(id) return p .. 's:f:' .. id end
local function tokKey(h) return p .. 's:t:' .. h end
local FAMILY_FIELDS = { 'u', 'c', 'e', 's', 'g', 'ra', 'rr', 'ci', 'sc', 'at' }
local function family(id) return redis.call('HMGET', famKey(id), unpack(FAMILY_FIELDS)) end
-- Keeps a token record: expires with its refresh TTL, never after its family.
local function issue(fid, famExpires, h, g, now)
  local e = math.min(now + tonumber(cfg.refreshTtlMs), famExpires)
  redis.call('HSET', tokKey(h), 'f', fid, 'g', s(g), 'i', s(now), 'e', s(e), 'r', '', 'n', '0', 'c', '')
  redis.call('PEXPIRE', tokKey(h), s(math.max(1, e - now + RETAIN)))
  redis.call('SADD', p .. 's:ft:' .. fid, h)
  redis.call('PEXPIRE', p .. 's:ft:' .. fid, s(math.max(1, famExpires - now + RETAIN)))
  return e
end
-- Lengthens a key's TTL to ms, never shortens it (PEXPIRE's GT needs Redis 7; no TTL reads as -1).
local function keepFor(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, s(ms)) end
end
local function userFams(user) return p .. 's:uf:' .. user end
local function revoke(fid, now, reason)
  redis.call('HSET', famKey(fid), 's', 'revoked', 'ra', s(now), 'rr', reason)
  redis.call('PEXPIRE', famKey(fid), s(RETAIN))
  -- That can outlast the family's old TTL: its user's set must still list it.
  keepFor(userFams(redis.call('HGET', famKey(fid), 'u')), RETAIN)
end
`

/**
 * How far before a rotation a replay's \`now\` may be and still count as concurrent with it: under
 * load, 1000 refreshes spread over three instances once produced a replay 'before' its rotation.
 */
export const CROSS_INSTANCE_SKEW_MS = 1_000

/**
 * Grace rules, by name: whether a rotated token spent again (since = ms since its rotation) gets a
 * grace answer rather than revoking its family. ROTATE and ACCEPTS both ask them, so the token
 * endpoint and introspection agree. Adding a mode is one more function here reading \`cfg\` and the
 * record, and one more branch where \`graceRule\` picks it; nothing else in the scripts changes.
 */
const GRACE_RULES = `
local GRACE = {}
-- Time (Auth0, Okta, Supabase), count (Keycloak) or both (Hydra): inside while every limit set holds.
-- A clock set back by the lab gives a negative age, which is not inside.
GRACE.limits = function(rec, since)
  local ms, count = tonumber(cfg.reuseGraceMs), tonumber(cfg.reuseGraceCount)
  if ms == 0 and count == 0 then return false end
  local inTime = ms == 0 or (since >= 0 and since < ms)
  local inCount = count == 0 or tonumber(rec.n) < count
  return inTime and inCount
end
-- GoTrue's rule (graceReturns 'parent'): inside the limits, and only for the direct parent of the
-- newest token, whose child (rec.c) is still unrotated; an older rotated token is a reuse.
GRACE.parent = function(rec, since)
  if not GRACE.limits(rec, since) then return false end
  return rec.c ~= '' and redis.call('HGET', tokKey(rec.c), 'r') == ''
end
local function graceRule()
  if cfg.graceReturns == 'parent' then return GRACE.parent end
  return GRACE.limits
end
-- The age of a rotation as the grace reads it: an instance takes \`now\` before its script reaches
-- Redis, so a replay sent just before the rotation it replays can run just after it: a negative age
-- under CROSS_INSTANCE_SKEW_MS is that wait, an age of 0. Further back, the lab clock was set back:
-- not inside any grace.
local function graceAge(rotatedAt, now)
  local since = now - tonumber(rotatedAt)
  if since < 0 and since > -${CROSS_INSTANCE_SKEW_MS} then return 0 end
  return since
end
`

/**
 * The rotation: ARGV[4] presented hash, [5] now, [6] the child's hash (HMAC of the token, hashed),
 * [7] a fresh token's hash (for graceReturns 'new'). The guard clauses in the order docs/design.md
 * fixes: unknown, revoked, expired, already rotated (grace or reuse), then the rotation itself.
 * Answers { kind, generation, expiresAt, replayedGeneration|sinceMs, chainSteps, familyId, family fields... }.
 */
export const ROTATE = `${PRELUDE}${GRACE_RULES}
local presented, now = ARGV[4], tonumber(ARGV[5])
local t = redis.call('HMGET', tokKey(presented), 'f', 'g', 'e', 'r', 'n', 'c')
if not t[1] then return { 'invalid' } end
local fid, gen = t[1], tonumber(t[2])
local f = family(fid)
if not f[1] then return { 'invalid' } end
local function answer(kind, g, e, x, steps)
  local out = { kind, s(g), s(e or 0), s(x or 0), s(steps or 0), fid }
  for i = 1, #FAMILY_FIELDS do out[#out + 1] = f[i] or '' end
  return out
end
if f[4] == 'revoked' then return answer('revoked', gen) end
local famExpires = tonumber(f[3])
if now >= tonumber(t[3]) or now >= famExpires then return answer('expired', gen) end
if t[4] ~= '' then
  local since = graceAge(t[4], now)
  if graceRule()({ n = t[5], c = t[6] }, since) then
    redis.call('HINCRBY', tokKey(presented), 'n', 1)
    if cfg.graceReturns == 'new' then
      local g2 = redis.call('HINCRBY', famKey(fid), 'g', 1)
      local e2 = issue(fid, famExpires, ARGV[7], g2, now)
      f = family(fid)
      return answer('graceNew', g2, e2, gen)
    end
    -- The newest token already issued: follow the rotations' child links from the presented one.
    local h, steps = t[6], 1
    while steps <= 100000 do
      local r = redis.call('HMGET', tokKey(h), 'g', 'e', 'r', 'c')
      if not r[1] then return { 'invalid' } end
      if r[3] == '' then
        if now >= tonumber(r[2]) then return answer('expired', tonumber(r[1])) end
        return answer('grace', tonumber(r[1]), tonumber(r[2]), gen, steps)
      end
      h, steps = r[4], steps + 1
    end
    return { 'invalid' }
  end
  revoke(fid, now, 'reuse')
  f = family(fid)
  return answer('reuse', gen, 0, since)
end
redis.call('HSET', tokKey(presented), 'r', s(now), 'c', ARGV[6])
redis.call('HSET', famKey(fid), 'g', s(gen + 1))
local e = issue(fid, famExpires, ARGV[6], gen + 1, now)
f = family(fid)
return answer('rotated', gen + 1, e)
`

/** How many of a user's families a sign-in checks, at random, to drop those whose record expired. */
export const USER_PRUNE_SAMPLE = 8

/**
 * Whether ROTATE would accept a token now, changing nothing: introspection's answer (RFC 7662), so
 * it agrees with the token endpoint under every grace rule. ARGV[4] the token's hash, [5] now.
 * Answers 1 (unrotated, or a grace answer would come) or 0 (unknown, revoked, expired, or a reuse).
 */
export const ACCEPTS = `${PRELUDE}${GRACE_RULES}
local now = tonumber(ARGV[5])
local t = redis.call('HMGET', tokKey(ARGV[4]), 'f', 'e', 'r', 'n', 'c')
if not t[1] then return 0 end
local f = family(t[1])
if f[4] ~= 'active' or now >= tonumber(t[2]) or now >= tonumber(f[3]) then return 0 end
if t[3] == '' then return 1 end
if graceRule()({ n = t[4], c = t[5] }, graceAge(t[3], now)) then return 1 end
return 0
`

/**
 * A new family and its first token: ARGV[4] family id, [5] user id, [6] now, [7] token hash,
 * [8] the OAuth client, [9] the scope granted and [10] the sign-in's real time ('' when none).
 * Answers { familyExpires, tokenExpires }.
 * The user's set outlives each family in it and expires with the last; each sign-in also drops the
 * dead among USER_PRUNE_SAMPLE random members. That step costs the same whatever the set's size (a
 * full check would make n sign-ins of one user cost n²), and it holds the set near its live
 * families: dead ones settle at about one check in USER_PRUNE_SAMPLE, so about 8/7 of the live.
 */
export const CREATE_FAMILY = `${PRELUDE}
local fid, user, now = ARGV[4], ARGV[5], tonumber(ARGV[6])
local famExpires = now + tonumber(cfg.sessionTtlMs)
local ttl = math.max(1, famExpires - now + RETAIN)
redis.call('HSET', famKey(fid), 'u', user, 'c', s(now), 'e', s(famExpires), 's', 'active', 'g', '1', 'ra', '', 'rr', '', 'ci', ARGV[8], 'sc', ARGV[9], 'at', ARGV[10])
redis.call('PEXPIRE', famKey(fid), s(ttl))
redis.call('SADD', p .. 's:fams', fid)
local uf = userFams(user)
for _, old in ipairs(redis.call('SRANDMEMBER', uf, ${USER_PRUNE_SAMPLE})) do
  if redis.call('EXISTS', famKey(old)) == 0 then redis.call('SREM', uf, old) end
end
redis.call('SADD', uf, fid)
keepFor(uf, ttl)
local e = issue(fid, famExpires, ARGV[7], 1, now)
return { s(famExpires), s(e) }
`

/** ARGV[4] family, [5] now, [6] reason: 1 when it was active and is now revoked. */
export const REVOKE_FAMILY = `${PRELUDE}
local fid = ARGV[4]
if redis.call('HGET', famKey(fid), 's') ~= 'active' then return 0 end
revoke(fid, tonumber(ARGV[5]), ARGV[6])
return 1
`

/** ARGV[4] now, ARGV[5..] families (every family when none): their live tokens expire now. Answers how many. */
export const EXPIRE_TOKENS = `${PRELUDE}
local now = tonumber(ARGV[4])
local fids = {}
if #ARGV > 4 then for i = 5, #ARGV do fids[#fids + 1] = ARGV[i] end else fids = redis.call('SMEMBERS', p .. 's:fams') end
local count = 0
for _, fid in ipairs(fids) do
  for _, h in ipairs(redis.call('SMEMBERS', p .. 's:ft:' .. fid)) do
    local e = redis.call('HGET', tokKey(h), 'e')
    if e and tonumber(e) > now then
      redis.call('HSET', tokKey(h), 'e', s(now))
      count = count + 1
    end
  end
end
return count
`

/**
 * One slice of counting what is held: ARGV[4] an SSCAN cursor over `fams` ('0' to begin), ARGV[5]
 * about how many families to visit. Drops members whose keys expired and answers { the next cursor,
 * then each live family's id and its live tokens }. The caller sums slices until the cursor is '0'
 * (counting an id SSCAN returns twice once), so no single script walks every family while every
 * other client of Redis waits. A slice still reads each of its families' token sets whole.
 */
export const COUNT_AND_PRUNE = `${PRELUDE}
local scan = redis.call('SSCAN', p .. 's:fams', ARGV[4], 'COUNT', ARGV[5])
local out = { scan[1] }
for _, fid in ipairs(scan[2]) do
  local ft = p .. 's:ft:' .. fid
  if redis.call('EXISTS', famKey(fid)) == 1 then
    local tokens = 0
    for _, h in ipairs(redis.call('SMEMBERS', ft)) do
      if redis.call('EXISTS', tokKey(h)) == 1 then tokens = tokens + 1 else redis.call('SREM', ft, h) end
    end
    out[#out + 1] = fid
    out[#out + 1] = tokens
  else
    redis.call('SREM', p .. 's:fams', fid)
    redis.call('DEL', ft)
  end
end
return out
`

/** Forgets every session (POST /_lab/reset): every key under the prefix's `s:`. */
export const CLEAR_SESSIONS = `${PRELUDE}
local keys = redis.call('KEYS', p .. 's:*')
for i = 1, #keys, 500 do redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys))) end
return #keys
`
