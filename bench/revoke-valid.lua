-- wrk: revoke valid tokens minted by mint.lua, each request a different token of the thread's
-- file; when a thread's file runs out its requests are counted apart (wrk -s prints them).
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  tokens = {}
  for line in io.lines((os.getenv("TOKENS_DIR") or "/tmp") .. "/tokens-" .. id .. ".txt") do
    tokens[#tokens + 1] = line
  end
  i = 0
  exhausted = 0
end
function request()
  i = i + 1
  local t = tokens[i]
  if not t then
    exhausted = exhausted + 1
    t = "exhausted-" .. i
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE=",
  }, "token=" .. t .. "&token_type_hint=access_token")
end
