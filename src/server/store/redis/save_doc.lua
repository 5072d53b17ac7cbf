#!lua flags=allow-oom
-- KEYS: the Config API's documents (a hash: one field per document, `<version> <json>`).
-- ARGV: the document, the version the write was made from (0: never stored), the JSON, the
-- channel. A compare-and-set: stores the document only if it is still at that version, at a
-- new version later than both the old one and Redis's clock in microseconds (so versions keep
-- growing even if the hash is lost and written again), and announces `<document> <version>
-- <Redis's clock in ms>`. Returns {1, new version} or {0, the version stored}. Runs even when
-- Redis is full: an admin must be able to take a scope away then.
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if stored then version = tonumber(string.sub(stored, 1, string.find(stored, ' ', 1, true) - 1)) end
if version ~= tonumber(ARGV[2]) then return { 0, string.format('%.0f', version) } end
local t = redis.call('TIME')
local next = math.max(version + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
local v = string.format('%.0f', next)
redis.call('HSET', KEYS[1], ARGV[1], v .. ' ' .. ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1] .. ' ' .. v .. ' ' .. string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
return { 1, v }
