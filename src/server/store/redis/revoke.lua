-- ARGV: prefix, then (what, value, kind) per victim: `t` hash, `g` grant, `c` client with
-- kind `a`, `r` or `` (every kind). A client's victim raises its revoke-all epoch for those
-- kinds (see `epoch`: the revocation is whole at once, however many tokens the client holds),
-- then cleans a first batch of its grants (see `clean`). Returns the removed (hash, row) pairs,
-- flat, and for each cleanup left to do its (client, kind, cursor), flat.
local pending = {}
for i = 2, #ARGV, 3 do
  local what, v, k = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if what == 't' then
    drop_token(v)
  elseif what == 'g' then
    drop_grant(v)
  else
    local kinds = { k }
    if k == '' then kinds = { 'a', 'r' } end
    for _, kind in ipairs(kinds) do redis.call('HINCRBY', p .. 'e:' .. v, kind, 1) end
    local cursor = clean(v, k, '0')
    if cursor ~= '0' then
      pending[#pending + 1] = v
      pending[#pending + 1] = k
      pending[#pending + 1] = cursor
    end
  end
end
return { out, pending }
