-- wrk: the trivial endpoint of the same server (GET /health).
wrk.method = "GET"
