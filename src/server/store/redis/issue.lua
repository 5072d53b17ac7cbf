-- ARGV: prefix, then (hash, row, expiry) per token.
for i = 2, #ARGV, 3 do issue_one(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return #ARGV
