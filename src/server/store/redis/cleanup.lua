-- ARGV: prefix, client, kind, cursor. One more batch of a revoke-all's cleanup (see `clean`);
-- returns the next cursor ('0': done).
return clean(ARGV[2], ARGV[3], ARGV[4])
