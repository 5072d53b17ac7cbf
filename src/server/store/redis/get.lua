-- ARGV: prefix, hash. The token's row if it is live (see `alive`), else nothing.
local row = redis.call('GET', p .. 't:' .. ARGV[2])
if row and alive(row) then return row end
return false
