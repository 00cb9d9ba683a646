"""The REST API's doors, and who may pass each: one line per route and method, one column per actor class
(tests/matrix/actors.py says what the classes are and how the seventeen actors map onto them).

Answers: `ok` (2xx), `401` (no valid credential), `403` (seen, but not allowed), `404` (not there, or
hidden from this caller: an outsider is not told what a private namespace holds), `400`, `405`, `422`.
A `*` on the last column marks a route that never reads a credential: a refused one (expired, revoked,
disabled) gets the anonymous answer there instead of 401.
Targets are the world's (world.py): `{qa}` is the private namespace, `{app}` its repository qa/app, and so
on. Bodies are what the allowed caller would send for the call to succeed; every row runs in a savepoint
that is rolled back, so the world stays as it was.

To extend: a new route gets a line here (test_meta.py fails, naming it, until it has one).
"""

from __future__ import annotations

#            adm own con vie gra out rob iro ano
EVERYONE = "ok  ok  ok  ok  ok  ok  ok  ok  ok"
SIGNED_IN = "ok  ok  ok  ok  ok  ok  ok  ok  401"
PEOPLE = "ok  ok  ok  ok  ok  ok  403 403 401"  # signed-in non-bots
ADMINS = "ok  403 403 403 403 403 403 403 401"
SELF = "ok  ok  403 403 403 403 403 403 401"  # olivia's own records (own), and admins
SELF_HIDDEN = "ok  ok  404 404 404 404 404 404 401"  # one of olivia's credentials: others are not told
QA_READERS = "ok  ok  ok  ok  ok  404 ok  ok  401"  # team qa, grantees on qa/app, qa's robot
QA_MANAGERS = "ok  ok  403 403 403 404 403 403 401"  # who manages namespace qa
# Who may edit qa/app's description: who pushes by role; gina's `push` grant pushes images, no more
# (an `admin` grant would: README "Repository grants").
QA_EDITORS = "ok  ok  ok  403 403 404 ok  403 401"
QA_DELETERS = "ok  ok  403 403 403 404 403 403 401"  # who may delete in qa/app (delete.contributors off)
TEAM_MEMBERS = "ok  ok  ok  ok  404 404 ok  404 401"  # who sees team qa
TEAM_MANAGERS = "ok  ok  403 403 404 404 403 404 401"
RETIRED_ADMINS = "ok  404 404 404 404 404 404 404 401"  # a retired namespace: admins only
ADMINS_HIDDEN = RETIRED_ADMINS  # what only admins may know of (robots' trust policies)
BARE_MANAGERS = "ok  ok  403 403 404 404 404 404 401"  # namespace bare: team qa's, no grant in it
QA_MANAGERS_HIDDEN = "ok  ok  404 404 404 404 404 404 401"  # qa's robots, retention runs: hidden from the rest

# `/api/v1/_ping` never reads a credential: even a refused one gets its `{}` (actors.py: "*" answers).
EVERYONE_EVEN_REFUSED = "ok  ok  ok  ok  ok  ok  ok  ok  ok*"

# (method, path, answers, body)
API = [
    # meta
    ("GET", "/api/openapi-spec", EVERYONE, None),
    ("GET", "/api/docs", EVERYONE, None),
    ("GET", "/api/version", SIGNED_IN, None),
    ("GET", "/api/v1/_ping", EVERYONE_EVEN_REFUSED, None),
    # No registry answers in the world: unhealthy (503) to all; only admins get the details.
    ("GET", "/api/v1/health", "503 503 503 503 503 503 503 503 503", None),
    # users and their credentials
    ("GET", "/api/v1/users", ADMINS, None),
    ("POST", "/api/v1/users", ADMINS,
     {"user": {"username": "newbie", "email": "newbie@example.org", "password": "a-long-password-1"}}),
    # Only on an empty instance (answered before any credential is read).
    ("POST", "/api/v1/users/bootstrap", "400 400 400 400 400 400 400 400 400*",
     {"user": {"username": "first", "email": "first@example.org", "password": "a-long-password-1"}}),
    ("DELETE", "/api/v1/users/application_tokens/{owner_token}", SELF_HIDDEN, None),
    ("GET", "/api/v1/users/{owner}/application_tokens", SELF, None),
    ("POST", "/api/v1/users/{owner}/application_tokens", SELF, {"application": "made-by-matrix"}),
    ("DELETE", "/api/v1/users/refresh_tokens/{refresh_token}", SELF_HIDDEN, None),
    ("GET", "/api/v1/users/{owner}/refresh_tokens", SELF, None),
    ("GET", "/api/v1/users/{irobot}/trust_policies", ADMINS_HIDDEN, None),
    ("POST", "/api/v1/users/{irobot}/trust_policies", ADMINS_HIDDEN,
     {"issuer": "https://gitlab.com", "rules": 'project_path == "acme/other"'}),
    ("PUT", "/api/v1/trust_policies/{trust_policy}", ADMINS_HIDDEN, {"enabled": False}),
    ("DELETE", "/api/v1/trust_policies/{trust_policy}", ADMINS_HIDDEN, None),
    # A namespace robot's trust policies: whoever manages its namespace (and admins), as its tokens; hidden
    # from the rest, and never the robot itself (a leaked token would otherwise trust a CI of its choosing).
    ("GET", "/api/v1/users/{robot}/trust_policies", QA_MANAGERS_HIDDEN, None),
    ("POST", "/api/v1/users/{robot}/trust_policies", QA_MANAGERS_HIDDEN,
     {"issuer": "https://gitlab.com", "rules": 'project_path == "acme/other"'}),
    ("PUT", "/api/v1/trust_policies/{robot_trust_policy}", QA_MANAGERS_HIDDEN, {"enabled": False}),
    ("DELETE", "/api/v1/trust_policies/{robot_trust_policy}", QA_MANAGERS_HIDDEN, None),
    ("GET", "/api/v1/users/{tess}", ADMINS, None),
    ("GET", "/api/v1/users/{owner}", ADMINS, None),  # Portus: admins only, one's own record too,
    ("PUT", "/api/v1/users/{tess}", ADMINS, {"user": {"display_name": "Tess T."}}),
    ("DELETE", "/api/v1/users/{tess}", ADMINS, None),
    # robots
    ("GET", "/api/v1/robots", SIGNED_IN, None),
    ("POST", "/api/v1/robots", ADMINS, {"name": "builder"}),
    ("POST", "/api/v1/robots", QA_MANAGERS, {"name": "nightly", "namespace_id": "{qa}"}),
    ("GET", "/api/v1/robots/{robot}", QA_MANAGERS_HIDDEN, None),
    ("PUT", "/api/v1/robots/{robot}", QA_MANAGERS_HIDDEN, {"enabled": False}),
    ("DELETE", "/api/v1/robots/{robot}", QA_MANAGERS_HIDDEN, None),
    ("GET", "/api/v1/robots/{irobot}", ADMINS_HIDDEN, None),  # an instance robot: admins'
    # a namespace robot's tokens: whoever manages its namespace (and admins); never the robot itself, whose
    # leaked token would otherwise mint a successor that outlives its revocation
    ("GET", "/api/v1/users/{robot}/application_tokens", "ok  ok  403 403 403 403 403 403 401", None),
    ("POST", "/api/v1/users/{robot}/application_tokens", "ok  ok  403 403 403 403 403 403 401",
     {"application": "ci-two"}),
    # registries
    ("GET", "/api/v1/registries", ADMINS, None),
    ("POST", "/api/v1/registries", ADMINS,
     {"registry": {"name": "second", "hostname": "second.test.lan:5000", "use_ssl": False}}),
    ("GET", "/api/v1/registries/validate?name=x&hostname=x.test.lan&use_ssl=false", ADMINS, None),
    ("PUT", "/api/v1/registries/{registry}", ADMINS, {"registry": {"external_hostname": "reg.example.org"}}),
    ("GET", "/api/v1/registries/{registry}/storage", ADMINS, None),
    ("POST", "/api/v1/registries/{registry}/notification_secret", ADMINS, {}),
    # Deleting one: admins; refused (422) while namespaces depend on it, the main registry's here.
    ("DELETE", "/api/v1/registries/{spare_registry}", ADMINS, None),
    ("DELETE", "/api/v1/registries/{registry}", "422 403 403 403 403 403 403 403 401", None),
    # teams
    ("GET", "/api/v1/teams", SIGNED_IN, None),
    ("POST", "/api/v1/teams", PEOPLE, {"name": "newteam"}),
    ("GET", "/api/v1/teams/{team}", TEAM_MEMBERS, None),
    ("PUT", "/api/v1/teams/{team}", TEAM_MANAGERS, {"team": {"description": "Quality."}}),
    ("DELETE", "/api/v1/teams/{spare_team}", "ok  ok  404 404 404 404 404 404 401", None),
    # It asks for a background run of the LDAP check. LDAP is off in the world, so the endpoint is switched
    # off for everyone signed in; with LDAP group sync on (OPTIONS below), the team's managers ask for it.
    ("POST", "/api/v1/teams/{team}/ldap_check", "405 405 405 405 405 405 405 405 401", {}),
    ("POST", "/api/v1/teams/{team}/ldap_check?ldap=on", TEAM_MANAGERS, {}),
    ("GET", "/api/v1/teams/{team}/namespaces", TEAM_MEMBERS, None),
    ("GET", "/api/v1/teams/{team}/members", TEAM_MEMBERS, None),
    ("POST", "/api/v1/teams/{team}/members", TEAM_MANAGERS, {"user": "oscar", "role": "viewer"}),
    ("PUT", "/api/v1/teams/{team}/members/{tess_member}", TEAM_MANAGERS, {"role": "contributor"}),
    ("DELETE", "/api/v1/teams/{team}/members/{tess_member}", TEAM_MANAGERS, None),
    # namespaces
    ("GET", "/api/v1/namespaces", SIGNED_IN, None),
    # Who is in no team named qa is told "no team of yours has this name", whether it exists or not.
    ("POST", "/api/v1/namespaces", "ok  ok  ok  403 400 400 403 400 401", {"name": "fresh", "team": "qa"}),
    ("GET", "/api/v1/namespaces/validate?name=fresh", SIGNED_IN, None),
    ("GET", "/api/v1/namespaces/retired", ADMINS, None),
    ("GET", "/api/v1/namespaces/{qa}", QA_READERS, None),
    ("PUT", "/api/v1/namespaces/{qa}", QA_MANAGERS, {"namespace": {"description": "Changed."}}),
    ("DELETE", "/api/v1/namespaces/{qa}", QA_MANAGERS, None),
    # Rename and move (bare is empty): whoever manages it; a move only into a team where they may create
    # namespaces (spare is olivia's; in ops she only views, so only an admin moves it there). Bare is team
    # qa's but holds no grant, so gina and the robots do not see it (qa's robot acts in qa only).
    ("PUT", "/api/v1/namespaces/{bare}", BARE_MANAGERS, {"namespace": {"name": "renamed"}}),
    ("PUT", "/api/v1/namespaces/{bare}", BARE_MANAGERS, {"namespace": {"team": "spare"}}),
    ("PUT", "/api/v1/namespaces/{bare}", "ok  403 403 403 404 404 404 404 401", {"namespace": {"team": "ops"}}),
    # A personal namespace keeps its name: not even its owner or an admin renames it (the policy's
    # can_rename_namespace refuses it: 403, as for any refusal of the policy).
    ("PUT", "/api/v1/namespaces/{personal}", "403 403 404 404 404 404 404 404 401",
     {"namespace": {"name": "olivia2"}}),
    ("GET", "/api/v1/namespaces/{qa}/signing_keys", QA_READERS, None),
    ("POST", "/api/v1/namespaces/{qa}/signing_keys", QA_MANAGERS, {"name": "second", "pem": "{pem}"}),
    ("DELETE", "/api/v1/namespaces/{qa}/signing_keys/{signing_key}", QA_MANAGERS, None),
    ("GET", "/api/v1/namespaces/{qa}/storage", QA_READERS, None),
    ("GET", "/api/v1/namespaces/{qa}/repositories", QA_READERS, None),
    ("GET", "/api/v1/namespaces/{qa}/grants", QA_MANAGERS, None),
    ("POST", "/api/v1/namespaces/{qa}/grants", QA_MANAGERS,
     {"pattern": "other", "permission": "pull", "user": "oscar"}),
    ("PUT", "/api/v1/namespaces/{qa}/grants/{grant}", QA_MANAGERS, {"permission": "pull"}),
    ("DELETE", "/api/v1/namespaces/{qa}/grants/{grant}", QA_MANAGERS, None),
    ("POST", "/api/v1/namespaces/{retired}/release", RETIRED_ADMINS, {}),
    ("POST", "/api/v1/namespaces/{retired}/purge", RETIRED_ADMINS, {}),
    # the other namespaces: public pub (team qa's too), olivia's personal one, the global one, the retired one
    ("GET", "/api/v1/namespaces/{pub}", SIGNED_IN, None),
    ("GET", "/api/v1/namespaces/{personal}", "ok  ok  404 404 404 404 404 404 401", None),
    ("GET", "/api/v1/namespaces/{global_ns}", SIGNED_IN, None),
    ("GET", "/api/v1/namespaces/{retired}", RETIRED_ADMINS, None),
    # qa's robot is a contributor of team qa, but acts in qa only: in pub it is anyone.
    ("PUT", "/api/v1/repositories/{site}", "ok  ok  ok  403 403 403 403 403 401",
     {"repository": {"description": "Site."}}),
    ("DELETE", "/api/v1/tags/{site_tag}", "ok  ok  403 403 403 403 403 403 401", None),
    # outbound webhooks
    ("GET", "/api/v1/namespaces/{qa}/webhooks", QA_MANAGERS, None),
    ("POST", "/api/v1/namespaces/{qa}/webhooks", QA_MANAGERS, {"webhook": {"url": "https://ci.example.org/two"}}),
    ("GET", "/api/v1/namespaces/{qa}/webhooks/{webhook}", QA_MANAGERS, None),
    ("PUT", "/api/v1/namespaces/{qa}/webhooks/{webhook}", QA_MANAGERS, {"webhook": {"name": "renamed"}}),
    ("DELETE", "/api/v1/namespaces/{qa}/webhooks/{webhook}", QA_MANAGERS, None),
    ("POST", "/api/v1/namespaces/{qa}/webhooks/{webhook}/secret", QA_MANAGERS, {}),
    ("POST", "/api/v1/namespaces/{qa}/webhooks/{webhook}/ping", QA_MANAGERS, {}),
    ("GET", "/api/v1/namespaces/{qa}/webhooks/{webhook}/deliveries", QA_MANAGERS, None),
    ("GET", "/api/v1/namespaces/{qa}/webhooks/{webhook}/deliveries/{delivery}", QA_MANAGERS, None),
    ("POST", "/api/v1/namespaces/{qa}/webhooks/{webhook}/deliveries/{delivery}/redeliver", QA_MANAGERS, {}),
    # repositories
    ("GET", "/api/v1/repositories", SIGNED_IN, None),
    ("GET", "/api/v1/repositories/{app}", QA_READERS, None),
    ("PUT", "/api/v1/repositories/{app}", QA_EDITORS, {"repository": {"description": "Changed."}}),
    ("DELETE", "/api/v1/repositories/{app}", QA_DELETERS, None),
    ("GET", "/api/v1/repositories/{app}/storage", QA_READERS, None),
    ("GET", "/api/v1/repositories/{app}/tags", QA_READERS, None),
    ("GET", "/api/v1/repositories/{app}/tags/grouped", QA_READERS, None),
    ("GET", "/api/v1/repositories/{app}/tags/{tag}", QA_READERS, None),
    ("GET", "/api/v1/repositories/{app}/comments", QA_READERS, None),
    ("POST", "/api/v1/repositories/{app}/comments", QA_READERS, {"comment": {"body": "Looks good."}}),
    ("DELETE", "/api/v1/repositories/{app}/comments/{comment}", "ok  ok  403 403 403 404 403 403 401", None),
    ("POST", "/api/v1/repositories/{app}/toggle_star", QA_READERS, {}),
    # tags
    ("GET", "/api/v1/tags", ADMINS, None),
    ("GET", "/api/v1/tags/{tag}", QA_READERS, None),
    ("DELETE", "/api/v1/tags/{tag}", QA_DELETERS, None),
    ("GET", "/api/v1/tags/{tag}/details", QA_READERS, None),
    # No scanner is configured: switched off (405), but only after the caller is known to be an admin.
    ("POST", "/api/v1/vulnerabilities", "405 403 403 403 403 403 403 403 401", {}),
    ("POST", "/api/v1/vulnerabilities/{tag}", "405 403 403 403 403 403 403 403 401", {}),
    # tag retention
    ("GET", "/api/v1/retention/rules", SIGNED_IN, None),
    ("GET", "/api/v1/retention/rules/instance", ADMINS, None),
    ("PUT", "/api/v1/retention/rules/instance", ADMINS, {"keep_latest": 10}),
    ("GET", "/api/v1/retention/rules/namespaces/{qa}", QA_MANAGERS, None),
    ("PUT", "/api/v1/retention/rules/namespaces/{qa}", QA_MANAGERS, {"keep_latest": 4}),
    ("DELETE", "/api/v1/retention/rules/namespaces/{qa}", QA_MANAGERS, None),
    ("GET", "/api/v1/retention/rules/repositories/{app}", QA_MANAGERS, None),
    ("PUT", "/api/v1/retention/rules/repositories/{app}", QA_MANAGERS, {"keep_latest": 2}),
    ("DELETE", "/api/v1/retention/rules/repositories/{app}", QA_MANAGERS, None),
    ("GET", "/api/v1/retention/runs", SIGNED_IN, None),
    ("POST", "/api/v1/retention/runs", QA_MANAGERS, {"namespace_id": "{qa}", "dry_run": True}),
    ("GET", "/api/v1/retention/runs/{run}", QA_MANAGERS_HIDDEN, None),
    ("GET", "/api/v1/retention/runs/{run}/items", QA_MANAGERS_HIDDEN, None),
    ("GET", "/api/v1/retention/runs/{run}/report", QA_MANAGERS_HIDDEN, None),
    ("POST", "/api/v1/retention/runs/{run}/pause", QA_MANAGERS_HIDDEN, {}),
    # The run is queued, not paused: the managers are told it cannot resume (422).
    ("POST", "/api/v1/retention/runs/{run}/resume", "422 422 404 404 404 404 404 404 401", {}),
    ("POST", "/api/v1/retention/runs/{run}/cancel", QA_MANAGERS_HIDDEN, {}),
]

# Options a row switches on for itself, by (method, path as in API): the world's are the defaults.
OPTIONS = {
    ("POST", "/api/v1/teams/{team}/ldap_check?ldap=on"): {"ldap.enabled": True, "ldap.group_sync.enabled": True},
}
