"""Values every template can use."""

from portus.options import option


def portus(request) -> dict:
    return {
        "machine_fqdn": option("machine_fqdn.value"),
        # No password sign-up where password sign-in is off (oauth.local_login.enabled).
        "signup_enabled": option("signup.enabled") and option("oauth.local_login.enabled"),
        "anonymous_browsing": option("anonymous_browsing.enabled"),
        "delete_enabled": option("delete.enabled"),
    }
