-- wrk script: POST /api/validate with the ForTestCode component, as a builder.
local file = io.open(os.getenv("COMPONENT"), "r")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "load-test-token")
