-- wrk script: POST execute of GetCode for a random user among USERS (default 5000), as a builder.
local users = tonumber(os.getenv("USERS") or "5000")
local token = os.getenv("TOKEN") or "load-test-token"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
math.randomseed(os.time())
request = function()
  local body = string.format('{"data":{"UserName":"user%d"}}', math.random(1, users))
  return wrk.format(nil, nil, nil, body)
end
-- The first answer other than 200 of each thread is shown, so a run's non-2xx count has a cause.
response = function(status, headers, body)
  if status ~= 200 and not shown then
    shown = true
    print("first non-200 answer: " .. status .. " " .. body)
  end
end
