-- ARGV: prefix, the most live grants one client may hold (0: no cap), then (hash, row, expiry)
-- per token of one grant. Returns 1, or 0 (nothing issued) when the grant is new and its
-- client already holds the cap.
local cap = tonumber(ARGV[2])
if cap > 0 and #ARGV >= 5 then
  local _, g, c = parse(ARGV[4])
  local ck = p .. 'c:' .. c
  redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
  if not redis.call('ZSCORE', ck, g) and redis.call('ZCARD', ck) >= cap then return 0 end
end
for i = 3, #ARGV, 3 do issue_one(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
