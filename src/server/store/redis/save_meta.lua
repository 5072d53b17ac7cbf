#!lua flags=allow-oom
-- KEYS: the meta key; ARGV: value, channel, announcement. Stores and announces at once; runs
-- even when Redis is full (a Config API change must be possible then).
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
