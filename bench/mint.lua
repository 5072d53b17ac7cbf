-- wrk: mint access tokens (client_credentials, client-a) and write them, one file per thread,
-- to $TOKENS_DIR/tokens-<n>.txt for revoke-valid.lua.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  out = io.open((os.getenv("TOKENS_DIR") or "/tmp") .. "/tokens-" .. id .. ".txt", "w")
end
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE="
function response(status, headers, body)
  local token = body:match('"access_token":"([^"]+)"')
  if token then out:write(token, "\n") end
end
function done() end
