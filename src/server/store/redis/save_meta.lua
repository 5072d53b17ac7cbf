-- KEYS: the meta key; ARGV: value, channel, announcement. Stores and announces at once.
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
