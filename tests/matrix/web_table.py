"""The web UI's pages and form actions, and who may pass each: one line per URL and method (GET shows a
page, POST acts), one column per actor class (actors.py).

Answers: `ok` (a page, or a redirect after a POST that did its work or re-shows its form), `login` (sent to
the sign-in page: not signed in, or an account that has no web sign-in, such as a robot, whose session is
ended), `403` (a member whose role is too low), `404` (an outsider: the page does not say what exists),
`405` (the method is not this door's: a GET never acts).
Anonymous visitors browse public namespaces (`anonymous_browsing.enabled`, on); asking for something they
may not see sends them to the sign-in page rather than telling them it is missing.

To extend: a new URL gets a GET and a POST line here (test_meta.py fails, naming it, until it has both).
"""

from __future__ import annotations

#            adm own con vie gra out rob iro ano
SIGNED_IN = "ok  ok  ok  ok  ok  ok  login login login"
SIGNED_IN_POST_ONLY = "405 405 405 405 405 405 login login login"
DASHBOARD = "ok  ok  ok  ok  ok  ok  login login ok"  # anyone may look; robots' sessions are ended
OPEN = "ok  ok  ok  ok  ok  ok  ok  ok  ok"  # the ways in: anyone, a robot's session too
OPEN_POST_ONLY = "405 405 405 405 405 405 405 405 405"
OWN_ONLY = "404 ok  404 404 404 404 login login login"  # the profile's own records: nobody else's, an admin's neither
FORM_ERRORS = "400 400 400 400 400 400 login login login"  # an empty form, re-shown with its errors (400)
ADMINS = "ok  403 403 403 403 403 login login login"
ADMINS_POST_ONLY = "405 403 403 403 403 403 login login login"
SELF_HIDDEN = "ok  ok  404 404 404 404 login login login"  # one of olivia's own records
QA_READERS = "ok  ok  ok  ok  ok  404 login login login"
QA_READERS_GET_ONLY = "405 405 405 405 405 404 login login login"
QA_MANAGERS = "ok  ok  403 403 403 404 login login login"
QA_MANAGERS_POST_ONLY = "405 405 403 403 403 404 login login login"
QA_EDITORS = "ok  ok  ok  403 403 404 login login login"  # the description: push by role, or an admin grant
QA_DELETERS = "ok  ok  403 403 403 404 login login login"
QA_DELETERS_POST_ONLY = "405 405 403 403 403 404 login login login"
BARE_MANAGERS = "ok  ok  403 403 404 404 login login login"  # namespace bare: team qa's, no grant in it
QA_MANAGERS_HIDDEN = "ok  ok  404 404 404 404 login login login"
TEAM_MEMBERS = "ok  ok  ok  ok  404 404 login login login"
TEAM_MANAGERS = "ok  ok  403 403 404 404 login login login"
TEAM_MANAGERS_POST_ONLY = "405 405 403 403 404 404 login login login"
RETIRED_ADMINS = "ok  404 404 404 404 404 login login login"
ADMINS_HIDDEN = "ok  404 404 404 404 404 login login login"  # robots' trust policies, as in the API
RETIRED_ADMINS_POST_ONLY = "405 404 404 404 404 404 login login login"
PUBLIC = "ok  ok  ok  ok  ok  ok  login login ok"
PUBLIC_SIGNED_IN = "ok  ok  ok  ok  ok  ok  login login login"
CREATORS = "ok  ok  ok  403 403 403 login login login"

# (method, path, answers, form body)
WEB = [
    # dashboard and getting in and out
    ("GET", "/", DASHBOARD, None),
    ("POST", "/", DASHBOARD, None),
    ("GET", "/users/sign_in", OPEN, None),
    ("POST", "/users/sign_in", OPEN, {"username": "nobody", "password": "wrong-password"}),
    ("GET", "/users/sign_out", OPEN_POST_ONLY, None),  # a GET never signs out
    ("POST", "/users/sign_out", "login login login login login login login login login", {}),
    ("GET", "/users/sign_up", OPEN, None),
    ("POST", "/users/sign_up", OPEN, {}),
    ("GET", "/users/password/new", OPEN, None),
    ("POST", "/users/password/new", OPEN, {"email": "nobody@example.org"}),
    ("GET", "/users/password/sent", OPEN, None),
    ("POST", "/users/password/sent", OPEN_POST_ONLY, {}),
    ("GET", "/users/password/edit/MQ/set-password", OPEN, None),
    ("POST", "/users/password/edit/MQ/set-password", OPEN, {}),
    ("GET", "/users/password/done", OPEN, None),
    ("POST", "/users/password/done", OPEN_POST_ONLY, {}),
    # the profile and its credentials
    # what tess (a viewer of team qa) did: herself, admins and who shares a team with her
    ("GET", "/users/{tess}/activities", TEAM_MEMBERS, None),
    # adam shares a team (ops) with olivia only
    ("GET", "/users/{admin}/activities", "ok  ok  404 404 404 404 login login login", None),
    ("POST", "/users/{tess}/activities", TEAM_MEMBERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/users/edit", SIGNED_IN, None),
    ("POST", "/users/edit", SIGNED_IN, {"email": "changed@example.org"}),
    ("GET", "/users/password", SIGNED_IN_POST_ONLY, None),
    # Without the current password: refused with the form's errors; a locked account's password is not
    # even checked (SECURITY.md: a lock refuses password checks, and says for how long).
    # An account whose password is not Portus's (LDAP's is the directory's; otto has none) changes none here.
    ("POST", "/users/password", FORM_ERRORS + " | locked=429 ldap=403 oidc=403", {}),
    ("GET", "/users/application_tokens", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/application_tokens", SIGNED_IN, {"application": "from-the-page", "registry_access": "pull",
                                                      "api_access": "none"}),
    ("GET", "/users/application_tokens/{owner_token}/revoke", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/application_tokens/{owner_token}/revoke", OWN_ONLY, {}),
    ("GET", "/users/clients/{refresh_token}/revoke", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/clients/{refresh_token}/revoke", SELF_HIDDEN, {}),  # one's own, or anyone's for an admin
    # two factors and passkeys
    ("GET", "/users/two_factor", SIGNED_IN, None),
    ("POST", "/users/two_factor", SIGNED_IN, {}),
    ("GET", "/users/two_factor/totp", SIGNED_IN, None),
    ("POST", "/users/two_factor/totp", SIGNED_IN, {}),
    ("GET", "/users/two_factor/totp/confirm", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/two_factor/totp/confirm", SIGNED_IN, {"code": "000000"}),
    ("GET", "/users/two_factor/totp/remove", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/two_factor/totp/remove", FORM_ERRORS, {}),  # asks for the password or a code
    ("GET", "/users/two_factor/recovery_codes", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/two_factor/recovery_codes", FORM_ERRORS, {}),  # asks for the password or a code
    ("GET", "/users/two_factor/recovery_codes/new", SIGNED_IN, None),
    ("POST", "/users/two_factor/recovery_codes/new", SIGNED_IN, {}),
    ("GET", "/users/two_factor/passkeys/options", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/two_factor/passkeys/options", SIGNED_IN, {}),
    ("GET", "/users/two_factor/passkeys", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/two_factor/passkeys", FORM_ERRORS, {}),  # no WebAuthn answer in the body
    ("GET", "/users/two_factor/passkeys/{passkey}/delete", SIGNED_IN_POST_ONLY, None),
    # Vera's passkey: only she may remove it (and is asked for her password first: 400).
    ("POST", "/users/two_factor/passkeys/{passkey}/delete", "404 404 404 400 404 404 login login login | ldap=404", {}),
    ("GET", "/admin/users/{tess}/two_factor/reset", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{tess}/two_factor/reset", ADMINS, {}),
    # the second step of signing in, and passkey sign-in: nobody is on the way in here
    ("GET", "/users/two_factor/verify", "login login login login login login login login login", None),
    ("POST", "/users/two_factor/verify", "login login login login login login login login login", {}),
    ("GET", "/users/two_factor/verify/passkey/options", OPEN_POST_ONLY, None),
    ("POST", "/users/two_factor/verify/passkey/options", "403 403 403 403 403 403 403 403 403", {}),
    ("GET", "/users/two_factor/verify/passkey", OPEN_POST_ONLY, None),
    ("POST", "/users/two_factor/verify/passkey", "403 403 403 403 403 403 403 403 403", {}),
    ("GET", "/users/passkey/options", OPEN_POST_ONLY, None),
    ("POST", "/users/passkey/options", OPEN, {}),
    ("GET", "/users/passkey/sign_in", OPEN_POST_ONLY, None),
    ("POST", "/users/passkey/sign_in", "400 400 400 400 400 400 400 400 400", {}),  # no WebAuthn answer
    # single sign-on (no provider is enabled in the world)
    ("GET", "/users/oauth/openid_connect/start", OPEN_POST_ONLY, None),
    ("POST", "/users/oauth/openid_connect/start", "404 404 404 404 404 404 404 404 404", {}),
    ("GET", "/users/oauth/openid_connect/callback", "404 404 404 404 404 404 404 404 404", None),
    ("POST", "/users/oauth/openid_connect/callback", OPEN_POST_ONLY, {}),
    ("GET", "/users/oauth/openid_connect/link", SIGNED_IN_POST_ONLY, None),
    ("POST", "/users/oauth/openid_connect/link", "404 404 404 404 404 404 login login login", {}),
    ("GET", "/users/identities/{identity}/unlink", SIGNED_IN_POST_ONLY, None),
    # Only otto's own; he is told it is his last way in (a redirect to the profile with the refusal).
    ("POST", "/users/identities/{identity}/unlink", "404 404 404 404 404 404 login login login | oidc=ok", {}),
    # administration
    ("GET", "/admin", ADMINS, None),
    ("POST", "/admin", ADMINS, {}),
    ("GET", "/admin/events/retry", ADMINS_POST_ONLY, None),
    ("POST", "/admin/events/retry", ADMINS, {}),
    ("GET", "/admin/users", ADMINS, None),
    ("POST", "/admin/users", ADMINS, {}),
    ("GET", "/admin/users/new", ADMINS, None),
    ("POST", "/admin/users/new", "400 403 403 403 403 403 login login login", {  # an incomplete form: 400
        "username": "newbie", "email": "newbie@example.org",
        "password1": "a-long-password-1", "password2": "a-long-password-1"}),
    ("GET", "/admin/users/{tess}", ADMINS, None),
    ("POST", "/admin/users/{tess}", ADMINS, {}),
    ("GET", "/admin/users/{tess}/edit", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{tess}/edit", ADMINS, {"email": "tess2@example.org", "display_name": "Tess"}),
    ("GET", "/admin/users/{tess}/enabled", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{tess}/enabled", ADMINS, {"enabled": "false"}),
    ("GET", "/admin/users/{tess}/admin", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{tess}/admin", ADMINS, {"admin": "true"}),
    ("GET", "/admin/users/{tess}/unlock", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{tess}/unlock", ADMINS, {}),
    ("GET", "/admin/users/{tess}/delete", ADMINS, None),
    ("POST", "/admin/users/{tess}/delete", ADMINS, {}),
    ("GET", "/admin/users/{tess}/application_tokens", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{tess}/application_tokens", ADMINS, {"application": "by-admin", "registry_access": "pull",
                                                              "api_access": "none"}),
    ("GET", "/admin/users/{owner}/application_tokens/{owner_token}/revoke", ADMINS_POST_ONLY, None),
    ("POST", "/admin/users/{owner}/application_tokens/{owner_token}/revoke", ADMINS, {}),
    ("GET", "/admin/users/{irobot}/trust_policies", ADMINS_HIDDEN, None),
    ("POST", "/admin/users/{irobot}/trust_policies", ADMINS_HIDDEN, {"issuer": "https://gitlab.com",
                                                             "rules": 'project_path == "acme/other"'}),
    ("GET", "/admin/users/{irobot}/trust_policies/{trust_policy}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/admin/users/{irobot}/trust_policies/{trust_policy}/delete", ADMINS_HIDDEN, {}),
    ("GET", "/admin/robots", ADMINS, None),
    ("POST", "/admin/robots", ADMINS, {"name": "builder"}),
    ("GET", "/admin/teams", ADMINS, None),
    ("POST", "/admin/teams", ADMINS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/admin/registries", ADMINS, None),
    ("POST", "/admin/registries", ADMINS, {}),
    ("GET", "/admin/registries/new", ADMINS, None),
    ("POST", "/admin/registries/new", ADMINS, {"name": "second", "hostname": "second.test.lan:5000"}),
    ("GET", "/admin/registries/{registry}/edit", ADMINS, None),
    ("POST", "/admin/registries/{registry}/edit", ADMINS, {"name": "main", "hostname": "registry.test.lan:5000"}),
    ("GET", "/admin/registries/{registry}/notification-secret", ADMINS_POST_ONLY, None),
    ("POST", "/admin/registries/{registry}/notification-secret", ADMINS, {}),
    ("GET", "/admin/registries/{spare_registry}/delete", ADMINS, None),  # a confirmation page
    ("POST", "/admin/registries/{spare_registry}/delete", ADMINS, {}),
    ("GET", "/admin/activities", ADMINS, None),
    ("POST", "/admin/activities", ADMINS, {}),
    ("GET", "/admin/activities.csv", ADMINS, None),
    ("POST", "/admin/activities.csv", ADMINS, {}),
    ("GET", "/admin/storage", ADMINS, None),
    ("POST", "/admin/storage", ADMINS, {}),
    # robots and grants
    ("GET", "/robots/{robot}", QA_MANAGERS_HIDDEN, None),
    ("POST", "/robots/{robot}", QA_MANAGERS_HIDDEN, {}),
    ("GET", "/robots/{robot}/application_tokens", SIGNED_IN_POST_ONLY, None),
    ("POST", "/robots/{robot}/application_tokens", QA_MANAGERS_HIDDEN, {"application": "ci-two",
                                                                      "registry_access": "push", "api_access": "none"}),
    ("GET", "/robots/{robot}/application_tokens/{robot_token}/revoke", SIGNED_IN_POST_ONLY, None),
    ("POST", "/robots/{robot}/application_tokens/{robot_token}/revoke", QA_MANAGERS_HIDDEN, {}),
    ("GET", "/robots/{robot}/enabled", SIGNED_IN_POST_ONLY, None),
    ("POST", "/robots/{robot}/enabled", QA_MANAGERS_HIDDEN, {"enabled": "false"}),
    ("GET", "/robots/{robot}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/robots/{robot}/delete", QA_MANAGERS_HIDDEN, {}),
    # its trust policies: its namespace's managers, as in the API
    ("GET", "/robots/{robot}/trust_policies", QA_MANAGERS_HIDDEN, None),
    ("POST", "/robots/{robot}/trust_policies", QA_MANAGERS_HIDDEN, {"issuer": "https://gitlab.com",
                                                                  "rules": 'project_path == "acme/other"'}),
    # The admin's address for a bot's page asks the same policy: the robot's managers, not the URL, decide.
    ("GET", "/admin/users/{robot}/trust_policies", QA_MANAGERS_HIDDEN, None),
    ("GET", "/robots/{robot}/trust_policies/{robot_trust_policy}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/robots/{robot}/trust_policies/{robot_trust_policy}/delete", QA_MANAGERS_HIDDEN, {}),
    ("GET", "/namespaces/{qa}/robots", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/robots", QA_MANAGERS, {"name": "nightly"}),
    ("GET", "/namespaces/{qa}/grants", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/grants", QA_MANAGERS, {"pattern": "other", "permission": "pull", "grantee_kind": "user",
                                                       "grantee": "oscar"}),
    ("GET", "/namespaces/{qa}/grants/{grant}/change", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/grants/{grant}/change", QA_MANAGERS, {"permission": "pull"}),
    ("GET", "/namespaces/{qa}/grants/{grant}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/grants/{grant}/delete", QA_MANAGERS, {}),
    # namespaces
    ("GET", "/namespaces", PUBLIC_SIGNED_IN, None),  # the lists want a sign-in; explore and search do not
    ("POST", "/namespaces", PUBLIC_SIGNED_IN, {}),  # a page: a POST is shown it, and does nothing
    # Only who may create one in some team (owners and contributors) gets the form.
    ("GET", "/namespaces/new", CREATORS, None),
    ("POST", "/namespaces/new", CREATORS, {"name": "fresh", "team": "{team}", "visibility": "private"}),
    ("GET", "/namespaces/{qa}", QA_READERS, None),
    ("GET", "/namespaces/{pub}", PUBLIC, None),
    ("POST", "/namespaces/{qa}", QA_READERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/namespaces/{qa}/edit", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/edit", QA_MANAGERS, {"description": "Changed."}),
    # renamed and moved (bare is empty) by whoever manages it, into a team where they create namespaces
    # (bare holds no grant: gina does not see it)
    ("POST", "/namespaces/{bare}/edit", BARE_MANAGERS, {"name": "renamed", "team": "{team}", "description": ""}),
    ("POST", "/namespaces/{bare}/edit", BARE_MANAGERS, {"name": "bare", "team": "{spare_team}", "description": ""}),
    # what happened there: who may open the namespace's page, and only what they may see
    ("GET", "/namespaces/{qa}/activities", QA_READERS, None),
    ("GET", "/namespaces/{pub}/activities", PUBLIC, None),
    ("GET", "/namespaces/{retired}/activities", RETIRED_ADMINS, None),
    ("POST", "/namespaces/{qa}/activities", QA_READERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/namespaces/{qa}/change_visibility", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/change_visibility", QA_MANAGERS, {"visibility": "protected"}),
    ("GET", "/namespaces/{qa}/delete", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/delete", QA_MANAGERS, {}),
    ("GET", "/namespaces/{retired}/release", RETIRED_ADMINS, None),  # a confirmation page
    ("POST", "/namespaces/{retired}/release", RETIRED_ADMINS, {}),
    ("GET", "/namespaces/{retired}/purge", RETIRED_ADMINS, None),  # a confirmation page
    ("POST", "/namespaces/{retired}/purge", RETIRED_ADMINS, {}),
    ("GET", "/namespaces/{qa}/signing_keys", QA_READERS, None),  # public keys: readers see which are trusted
    ("POST", "/namespaces/{qa}/signing_keys", QA_MANAGERS, {"name": "second", "pem": "{pem}"}),
    ("GET", "/namespaces/{qa}/signing_keys/{signing_key}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/signing_keys/{signing_key}/delete", QA_MANAGERS, {}),
    # outbound webhooks
    ("GET", "/namespaces/{qa}/webhooks", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/webhooks", QA_MANAGERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/namespaces/{qa}/webhooks/new", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/webhooks/new", QA_MANAGERS, {
        "url": "https://ci.example.org/two", "request_method": "POST", "content_type": "application/json",
        "payload_format": "portus",
                                                          "events": "push", "enabled": "on"}),
    ("GET", "/namespaces/{qa}/webhooks/{webhook}", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/webhooks/{webhook}", QA_MANAGERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/namespaces/{qa}/webhooks/{webhook}/edit", QA_MANAGERS, None),
    ("POST", "/namespaces/{qa}/webhooks/{webhook}/edit", QA_MANAGERS, {"url": "https://ci.example.org/hook",
                                                                     "request_method": "POST",
                                                                     "content_type": "application/json",
                                                                     "payload_format": "portus",
                                                                     "events": "push"}),
    ("GET", "/namespaces/{qa}/webhooks/{webhook}/delete", QA_MANAGERS, None),  # a confirmation page
    ("POST", "/namespaces/{qa}/webhooks/{webhook}/delete", QA_MANAGERS, {}),
    ("GET", "/namespaces/{qa}/webhooks/{webhook}/secret", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/webhooks/{webhook}/secret", QA_MANAGERS, {}),
    ("GET", "/namespaces/{qa}/webhooks/{webhook}/ping", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/webhooks/{webhook}/ping", QA_MANAGERS, {}),
    ("GET", "/namespaces/{qa}/webhooks/{webhook}/deliveries/{delivery}", QA_MANAGERS, None),
    # a page: a POST is shown it, and does nothing
    ("POST", "/namespaces/{qa}/webhooks/{webhook}/deliveries/{delivery}", QA_MANAGERS, {}),
    ("GET", "/namespaces/{qa}/webhooks/{webhook}/deliveries/{delivery}/redeliver", SIGNED_IN_POST_ONLY, None),
    ("POST", "/namespaces/{qa}/webhooks/{webhook}/deliveries/{delivery}/redeliver", QA_MANAGERS, {}),
    # teams
    ("GET", "/teams", SIGNED_IN, None),
    ("POST", "/teams", SIGNED_IN, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/teams/new", SIGNED_IN, None),
    ("POST", "/teams/new", SIGNED_IN, {"name": "newteam"}),
    ("GET", "/teams/{team}", TEAM_MEMBERS, None),
    ("POST", "/teams/{team}", TEAM_MEMBERS, {}),
    ("GET", "/teams/{team}/edit", TEAM_MANAGERS, None),
    ("POST", "/teams/{team}/edit", TEAM_MANAGERS, {"name": "qa", "description": "Quality."}),
    ("GET", "/teams/{spare_team}/delete", "ok  ok  404 404 404 404 login login login", None),
    ("POST", "/teams/{spare_team}/delete", "ok  ok  404 404 404 404 login login login", {}),
    ("GET", "/teams/{team}/members", SIGNED_IN_POST_ONLY, None),
    ("POST", "/teams/{team}/members", TEAM_MANAGERS, {"user": "oscar", "role": "viewer"}),
    ("GET", "/teams/{team}/members/{tess_member}/role", SIGNED_IN_POST_ONLY, None),
    ("POST", "/teams/{team}/members/{tess_member}/role", TEAM_MANAGERS, {"role": "contributor"}),
    ("GET", "/teams/{team}/members/{tess_member}/remove", SIGNED_IN_POST_ONLY, None),
    ("POST", "/teams/{team}/members/{tess_member}/remove", TEAM_MANAGERS, {}),
    ("GET", "/teams/{team}/typeahead?query=os", TEAM_MANAGERS, None),
    ("POST", "/teams/{team}/typeahead", SIGNED_IN_POST_ONLY, {}),
    # repositories and tags
    ("GET", "/repositories", PUBLIC_SIGNED_IN, None),  # the lists want a sign-in; explore and search do not
    ("POST", "/repositories", PUBLIC_SIGNED_IN, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/repositories/{app}", QA_READERS, None),
    ("GET", "/repositories/{site}", PUBLIC, None),
    ("POST", "/repositories/{app}", QA_READERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/repositories/{app}/edit", QA_EDITORS, None),
    ("POST", "/repositories/{app}/edit", QA_EDITORS, {"description": "Changed."}),
    ("GET", "/repositories/{app}/delete", QA_DELETERS, None),
    ("POST", "/repositories/{app}/delete", QA_DELETERS, {}),
    ("GET", "/repositories/{app}/toggle_star", SIGNED_IN_POST_ONLY, None),
    ("POST", "/repositories/{app}/toggle_star", QA_READERS, {}),
    ("GET", "/repositories/{app}/comments", SIGNED_IN_POST_ONLY, None),
    ("POST", "/repositories/{app}/comments", QA_READERS, {"body": "Looks good."}),
    ("GET", "/repositories/{app}/comments/{comment}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/repositories/{app}/comments/{comment}/delete", QA_DELETERS, {}),
    ("GET", "/tags/{tag}", QA_READERS, None),
    ("GET", "/tags/{site_tag}", PUBLIC, None),
    ("POST", "/tags/{tag}", QA_READERS, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/tags/{tag}/delete", QA_DELETERS, None),  # a confirmation page
    ("POST", "/tags/{tag}/delete", QA_DELETERS, {}),
    ("GET", "/search?search=app", PUBLIC, None),
    ("POST", "/search", PUBLIC, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/explore", PUBLIC, None),
    ("POST", "/explore", PUBLIC, {}),  # a page: a POST is shown it, and does nothing
    # tag retention
    ("GET", "/retention/", SIGNED_IN, None),
    ("POST", "/retention/", SIGNED_IN, {}),  # a page: a POST is shown it, and does nothing
    ("GET", "/retention/namespaces/{qa}", QA_MANAGERS, None),
    ("POST", "/retention/namespaces/{qa}", QA_MANAGERS, {"enabled": "on", "keep_latest": "4"}),
    ("GET", "/retention/repositories/{app}", QA_MANAGERS, None),
    ("POST", "/retention/repositories/{app}", QA_MANAGERS, {"enabled": "on", "keep_latest": "2"}),
    ("GET", "/retention/rules/{ns_rule}/delete", SIGNED_IN_POST_ONLY, None),
    ("POST", "/retention/rules/{ns_rule}/delete", QA_MANAGERS, {}),
    ("GET", "/retention/runs", SIGNED_IN_POST_ONLY, None),
    ("POST", "/retention/runs", QA_MANAGERS, {"namespace": "{qa}", "dry_run": "on"}),
    ("GET", "/retention/runs/{run}", QA_MANAGERS_HIDDEN, None),
    ("POST", "/retention/runs/{run}", QA_MANAGERS_HIDDEN, {}),
    ("GET", "/retention/runs/{run}/cancel", SIGNED_IN_POST_ONLY, None),
    ("POST", "/retention/runs/{run}/cancel", QA_MANAGERS_HIDDEN, {}),
]
