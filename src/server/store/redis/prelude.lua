-- What the token scripts share: the prefix (ARGV[1]), the time (Redis's clock, never a node's:
-- nodes' clocks may disagree), parsing a row's header, telling a live token from a revoked one,
-- issuing one token, dropping tokens or grants (the removed pairs go to `out`), and cleaning a
-- client's grants up after a revoke-all.
local p = ARGV[1]
local now = tonumber(redis.call('TIME')[1])
-- A row's header: the kind (`a` or `r`), the grant (16 hex), the client's revoke-all epoch for
-- that kind when the token was issued (8 hex), the client's length (4 hex), the client.
local function parse(row)
  local clen = tonumber(string.sub(row, 26, 29), 16)
  return string.sub(row, 1, 1), string.sub(row, 2, 17), string.sub(row, 30, 29 + clen),
    tonumber(string.sub(row, 18, 25), 16)
end
-- A client's revoke-all epoch for one kind of token (`e:<client>`, a hash without a TTL, so
-- that no eviction policy a node accepts can drop it): `token=all` raises it, and every token
-- of that kind issued before is revoked from then on, whatever the indexes hold.
local function epoch(c, kind)
  return tonumber(redis.call('HGET', p .. 'e:' .. c, kind) or 0)
end
-- Whether a stored row is a live token. A token whose grant's index is gone (evicted, or lost
-- with a Redis that kept the token but not the index) counts as revoked: no revocation depends
-- on that index surviving. So does a token issued before its client's last revoke-all.
local function alive(row)
  local kind, g, c, e = parse(row)
  if redis.call('EXISTS', p .. 'g:' .. g) == 0 then return false end
  return e >= epoch(c, kind)
end
local function expire_like(key, score)
  if score == 'inf' then redis.call('PERSIST', key) else redis.call('EXPIREAT', key, score) end
end
local function top_score(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  return top[2]
end
local function issue_one(h, row, exp)
  local kind, g, c = parse(row)
  row = string.sub(row, 1, 17) .. string.format('%08x', epoch(c, kind)) .. string.sub(row, 26)
  local tk = p .. 't:' .. h
  redis.call('SET', tk, row)
  local score = '+inf'
  if tonumber(exp) < 253402300799 then
    redis.call('EXPIREAT', tk, exp)
    score = exp
  end
  local gk = p .. 'g:' .. g
  redis.call('RPUSH', gk, h)
  local ck = p .. 'c:' .. c
  redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
  redis.call('ZADD', ck, 'GT', score, g)
  expire_like(gk, redis.call('ZSCORE', ck, g))
  expire_like(ck, top_score(ck))
  local all = p .. 'clients'
  redis.call('ZREMRANGEBYSCORE', all, '-inf', now)
  redis.call('ZADD', all, 'GT', score, c)
  expire_like(all, top_score(all))
end
local out = {}
local function drop_token(h)
  local tk = p .. 't:' .. h
  local row = redis.call('GET', tk)
  if not row then return end
  local kind, g, c = parse(row)
  redis.call('DEL', tk)
  out[#out + 1] = h
  out[#out + 1] = row
  local gk = p .. 'g:' .. g
  redis.call('LREM', gk, 1, h)
  if redis.call('EXISTS', gk) == 0 then redis.call('ZREM', p .. 'c:' .. c, g) end
end
local function drop_grant(g)
  local gk = p .. 'g:' .. g
  local client = nil
  for _, h in ipairs(redis.call('LRANGE', gk, 0, -1)) do
    local tk = p .. 't:' .. h
    local row = redis.call('GET', tk)
    if row then
      redis.call('DEL', tk)
      out[#out + 1] = h
      out[#out + 1] = row
      if not client then
        local _, _, c = parse(row)
        client = c
      end
    end
  end
  redis.call('DEL', gk)
  if client then redis.call('ZREM', p .. 'c:' .. client, g) end
end
-- After a revoke-all of client `c` (kind `k`, or `` for every kind): drops the tokens no longer
-- live of at most about 64 of its grants, from `cursor` (a ZSCAN cursor of `c:<client>`), and
-- the grants left empty; returns the next cursor ('0': done). The revocation itself is the
-- epoch's, whole at once; this only gives the memory back, in batches that never hold Redis long.
local function clean(c, k, cursor)
  local ck = p .. 'c:' .. c
  local scan = redis.call('ZSCAN', ck, cursor, 'COUNT', 64)
  local items = scan[2]
  for i = 1, #items, 2 do
    local g = items[i]
    local gk = p .. 'g:' .. g
    for _, h in ipairs(redis.call('LRANGE', gk, 0, -1)) do
      local row = redis.call('GET', p .. 't:' .. h)
      if not row then
        redis.call('LREM', gk, 1, h)
      elseif (k == '' or string.sub(row, 1, 1) == k) and not alive(row) then
        drop_token(h)
      end
    end
    if redis.call('EXISTS', gk) == 0 then redis.call('ZREM', ck, g) end
  end
  return scan[1]
end
