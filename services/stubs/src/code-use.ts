/**
 * When a code bundle was last used, kept in its index hash
 * (`stubs:code:<digest>`) as `usedAtMs`: set when it is uploaded, when a
 * function or custom runtime is about to reference it, and when one stops
 * referencing it. The collector (code-collector.ts) deletes a bundle that
 * nothing references and whose last use is older than the retention.
 *
 * Every one of these is a Lua script, so a deploy that is about to
 * reference a bundle and a collection of that bundle cannot interleave:
 * either the deploy marks it used first (and the collection leaves it), or
 * the collection deletes its index entry first (and the deploy is refused
 * with code_not_found). The time is Redis's own clock, so replicas whose
 * clocks disagree still agree on a bundle's age.
 */

/** Lua: `now`, Redis's clock in ms. */
export const LUA_NOW = `local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)`;

/** Lua `markUsed(key)`: usedAtMs = now on an existing index entry; false when there is none. Needs LUA_NOW. */
export const LUA_MARK_USED = `local function markUsed(key)
  if redis.call('EXISTS', key) == 0 then return false end
  redis.call('HSET', key, 'usedAtMs', now)
  return true
end`;

/** Lua `digestOf(json)`: the code digest a stored function or runtime config names, or nil. */
export const LUA_DIGEST_OF = `local function digestOf(json)
  local ok, config = pcall(cjson.decode, json)
  if ok and type(config) == 'table' and type(config.codeDigest) == 'string' then return config.codeDigest end
  return nil
end`;

/**
 * KEYS[1]: the code index key. ARGV[1]: 'create' (an upload; ARGV[2] its
 * size) or 'existing' (a reference about to be made). Returns 1, or 0 when
 * 'existing' found no such bundle.
 */
export const MARK_CODE_USED = `${LUA_NOW}
${LUA_MARK_USED}
if ARGV[1] == 'create' then
  redis.call('HSETNX', KEYS[1], 'size', ARGV[2])
  redis.call('HSETNX', KEYS[1], 'createdAtMs', now)
end
return markUsed(KEYS[1]) and 1 or 0`;
