-- POSTs registry notification envelopes with BENCH_EVENTS events each, every event with an id of its own
-- (thread, request, index), so that the inbox stores every one (it deduplicates by id).
local per_post = tonumber(os.getenv("BENCH_EVENTS") or "1")
local repository = os.getenv("BENCH_REPOSITORY")
local host = os.getenv("BENCH_SERVICE")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

wrk.headers["Content-Type"] = "application/vnd.docker.distribution.events.v1+json"

local counter = 0

local function event(id)
  return string.format(
    '{"id":"%s","timestamp":"2026-01-01T00:00:00.000000000Z","action":"push",' ..
    '"target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1234,' ..
    '"digest":"sha256:%064x","length":1234,"repository":"%s","url":"http://%s/v2/%s/manifests/x","tag":"t%d"},' ..
    '"request":{"id":"r-%s","addr":"127.0.0.1:1","host":"%s","method":"PUT","useragent":"bench"},' ..
    '"actor":{"name":"benchuser"},"source":{"addr":"bench:5000","instanceID":"bench"}}',
    id, counter, repository, host, repository, counter % 50, id, host)
end

function request()
  local events = {}
  for i = 1, per_post do
    counter = counter + 1
    events[i] = event(string.format("bench-%s-%d-%d-%d", os.time(), tid, counter, i))
  end
  return wrk.format("POST", nil, nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end
