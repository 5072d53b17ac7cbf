-- wrk: revoke a never-issued token as client-a (demo fixture credentials, loopback only).
wrk.method = "POST"
wrk.body = "token=revspec-bench-never-issued&token_type_hint=access_token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic Y2xpZW50LWE6c2VjcmV0LWE="
