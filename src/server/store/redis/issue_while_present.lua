-- ARGV: prefix, parent, remove parent (1/0), max access tokens, then (hash, row, expiry)
-- per token. Returns 0 when the parent is gone or no longer live (nothing changed), else 1.
local parent = ARGV[2]
local prow = redis.call('GET', p .. 't:' .. parent)
if not prow or not alive(prow) then return 0 end
local _, g, _ = parse(prow)
local gk = p .. 'g:' .. g
local new_access = 0
for i = 5, #ARGV, 3 do
  if string.sub(ARGV[i + 1], 1, 1) == 'a' then new_access = new_access + 1 end
end
local max_access = tonumber(ARGV[4])
local keep = max_access - math.min(new_access, max_access)
local live = {}
for _, h in ipairs(redis.call('LRANGE', gk, 0, -1)) do
  local row = redis.call('GET', p .. 't:' .. h)
  if not row then
    redis.call('LREM', gk, 1, h)
  elseif not alive(row) then
    drop_token(h) -- revoked by a revoke-all, not cleaned up yet
  elseif string.sub(row, 1, 1) == 'a' then
    live[#live + 1] = h
  end
end
for i = 1, #live - keep do drop_token(live[i]) end
if ARGV[3] == '1' then drop_token(parent) end
for i = 5, #ARGV, 3 do issue_one(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
