"""Values every template can use."""

from portus.options import option


def portus(request) -> dict:
    return {
        "machine_fqdn": option("machine_fqdn.value"),
        "signup_enabled": option("signup.enabled"),
        "anonymous_browsing": option("anonymous_browsing.enabled"),
        "delete_enabled": option("delete.enabled"),
    }
