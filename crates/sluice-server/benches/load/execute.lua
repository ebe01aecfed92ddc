-- wrk script: POST execute of GetCode for a random user among USERS (default 5000), as a builder.
-- Each thread writes its requests once, at start (after wrk has set the Host header): per
-- request it only picks one. No `response` function: wrk would hand every answer to Lua.
local users = tonumber(os.getenv("USERS") or "5000")
local token = os.getenv("TOKEN") or "load-test-token"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
local requests = {}
init = function(args)
  for i = 1, users do
    requests[i] = wrk.format(nil, nil, nil, string.format('{"data":{"UserName":"user%d"}}', i))
  end
  math.randomseed(os.time() + tonumber(tostring(requests):match("0x(%x+)") or "0", 16))
end
request = function()
  return requests[math.random(1, users)]
end
