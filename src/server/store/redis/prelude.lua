-- What the scripts share: the prefix (ARGV[1]), the time (Redis's clock, never a node's:
-- nodes' clocks may disagree), parsing a row's header, issuing one token and dropping tokens
-- or grants (the removed pairs go to `out`).
local p = ARGV[1]
local now = tonumber(redis.call('TIME')[1])
local function parse(row)
  local clen = tonumber(string.sub(row, 18, 21), 16)
  return string.sub(row, 1, 1), string.sub(row, 2, 17), string.sub(row, 22, 21 + clen)
end
-- Whether a stored row is a live token. A token whose grant's index is gone (evicted, or lost
-- with a Redis that kept the token but not the index) counts as revoked: no revocation depends
-- on that index surviving.
local function alive(row)
  local _, g, _ = parse(row)
  return redis.call('EXISTS', p .. 'g:' .. g) == 1
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
