-- ARGV: prefix. The clients whose grants have not all expired (the `all-too-wide` fault).
return redis.call('ZRANGE', p .. 'clients', '(' .. now, '+inf', 'BYSCORE')
