-- ARGV: prefix, then (what, value, kind) per victim: `t` hash, `g` grant, `c` client
-- with kind `a`, `r` or `` (every kind). Returns the removed (hash, row) pairs, flat.
for i = 2, #ARGV, 3 do
  local what, v, k = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if what == 't' then
    drop_token(v)
  elseif what == 'g' then
    drop_grant(v)
  else
    for _, g in ipairs(redis.call('ZRANGE', p .. 'c:' .. v, 0, -1)) do
      if k == '' then
        drop_grant(g)
      else
        for _, h in ipairs(redis.call('LRANGE', p .. 'g:' .. g, 0, -1)) do
          local row = redis.call('GET', p .. 't:' .. h)
          if row and string.sub(row, 1, 1) == k then drop_token(h) end
        end
      end
    end
  end
end
return out
