-- POSTs BENCH_BODY (a file) with BENCH_TYPE as its content type: the refresh-token grant.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE")
