-- wrk script for bench/http_intake.sh: POSTs one JSON event, or with BATCH=N an NDJSON body
-- of N events, to the URL given to wrk.
local batch = tonumber(os.getenv("BATCH") or "1")
wrk.method = "POST"
if batch > 1 then
  local lines = {}
  for i = 1, batch do
    lines[i] = '{"sensor":"s' .. (i % 16) .. '","value":' .. i .. ',"unit":"C"}'
  end
  wrk.body = table.concat(lines, "\n") .. "\n"
  wrk.headers["Content-Type"] = "application/x-ndjson"
else
  wrk.body = '{"sensor":"s1","value":42,"unit":"C"}'
  wrk.headers["Content-Type"] = "application/json"
end
