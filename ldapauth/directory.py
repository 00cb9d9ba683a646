"""The LDAP directory as Portus's `ldap.*` options describe it: django-auth-ldap's settings, and a
connection of the service's own (search account or anonymous) for the group sync."""

from __future__ import annotations

import ldap
from django_auth_ldap.config import LDAPSearch, NestedGroupOfNamesType
from ldap.filter import escape_filter_chars

from portus.options import data_path, option

# What a group is here: groupOfNames, whose `member` values are DNs of users or of other groups.
GROUP_FILTER = "(objectClass=groupOfNames)"
# Bounds on what one search may bring back, so that a huge or hostile directory cannot exhaust memory.
MAX_SEARCH_ENTRIES = 20_000


class DirectoryUnavailable(Exception):
    """The server could not be reached, refused TLS, or the search account was refused."""


def server_uri() -> str:
    scheme = "ldaps" if option("ldap.encryption.method") == "simple_tls" else "ldap"
    host = option("ldap.hostname").strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"{scheme}://{host}:{option('ldap.port')}"


def connection_options() -> dict:
    """python-ldap options for every connection: timeouts, no referral chasing, TLS checked against the
    configured CA. OPT_X_TLS_NEWCTX must come last: it builds the TLS context from the options before it."""
    timeout = option("ldap.timeout")
    options: dict = {
        ldap.OPT_PROTOCOL_VERSION: ldap.VERSION3,
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        ldap.OPT_REFERRALS: 0,
    }
    if option("ldap.encryption.method"):
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        ca_file = option("ldap.encryption.ca_file").strip()
        if ca_file:
            options[ldap.OPT_X_TLS_CACERTFILE] = str(data_path(ca_file))
        options[ldap.OPT_X_TLS_NEWCTX] = 0
    return options


def group_base() -> str:
    return option("ldap.group_base").strip() or option("ldap.base").strip()


def user_filter() -> str:
    """The user search filter with django-auth-ldap's `%(user)s`, which it fills in escaped
    (ldap.filter.escape_filter_chars: `*`, `(`, `)`, `\\` and NUL become \\2a, \\28, \\29, \\5c, \\00)."""
    return _with_extra_filter(f"({option('ldap.uid')}=%(user)s)", escape_percent=True)


def account_filter() -> str:
    """What an entry must match to be an account here: it has the uid attribute and `ldap.filter`."""
    return _with_extra_filter(f"({option('ldap.uid')}=*)", escape_percent=False)


def _with_extra_filter(own: str, *, escape_percent: bool) -> str:
    extra = option("ldap.filter").strip()
    if escape_percent:
        extra = extra.replace("%", "%%")
    if not extra:
        return own
    return f"(&{own}{extra if extra.startswith('(') else f'({extra})'})"


def backend_settings() -> dict:
    """django-auth-ldap's settings (without their AUTH_LDAP_ prefix) from the `ldap.*` options."""
    authenticated = option("ldap.authentication.enabled")
    return {
        "SERVER_URI": server_uri(),
        "START_TLS": option("ldap.encryption.method") == "start_tls",
        "CONNECTION_OPTIONS": connection_options(),
        "BIND_DN": option("ldap.authentication.bind_dn") if authenticated else "",
        "BIND_PASSWORD": option("ldap.authentication.password") if authenticated else "",
        "USER_SEARCH": LDAPSearch(option("ldap.base").strip(), ldap.SCOPE_SUBTREE, user_filter()),
        "GROUP_SEARCH": LDAPSearch(group_base(), ldap.SCOPE_SUBTREE, GROUP_FILTER),
        "GROUP_TYPE": NestedGroupOfNamesType(),
        "ALWAYS_UPDATE_USER": False,
        "PERMIT_EMPTY_PASSWORD": False,  # an empty password is an anonymous bind, which "succeeds"
        "CACHE_TIMEOUT": 0,  # the cache of our own (ldapauth/login.py) is keyed by the password too
        "FIND_GROUP_PERMS": False,
        "MIRROR_GROUPS": None,
    }


def service_connection():
    """A connection bound as the search account (or anonymous), for the group sync."""
    try:
        conn = ldap.initialize(server_uri(), bytes_mode=False)
        for key, value in connection_options().items():
            conn.set_option(key, value)
        if option("ldap.encryption.method") == "start_tls":
            conn.start_tls_s()
        if option("ldap.authentication.enabled"):
            conn.simple_bind_s(option("ldap.authentication.bind_dn"), option("ldap.authentication.password"))
        else:
            conn.simple_bind_s("", "")
    except ldap.LDAPError as exc:
        raise DirectoryUnavailable(describe(exc)) from None
    return conn


def describe(exc: ldap.LDAPError) -> str:
    """A one-line text of a python-ldap error (its args are a dict with desc and info), no secrets."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = detail.get("desc") or type(exc).__name__
    if detail.get("info"):
        text += f" ({detail['info']})"
    return text[:300]


def search(conn, base: str, filterstr: str, attrs: list[str], *, scope: int = ldap.SCOPE_SUBTREE) -> list:
    """(dn, attributes) of every entry found, bounded by MAX_SEARCH_ENTRIES; the server's sizelimit is
    an error only past our bound."""
    try:
        results = conn.search_ext_s(base, scope, filterstr, attrs, sizelimit=MAX_SEARCH_ENTRIES,
                                    timeout=option("ldap.timeout"))
    except ldap.NO_SUCH_OBJECT:
        return []
    except ldap.LDAPError as exc:
        raise DirectoryUnavailable(describe(exc)) from None
    return [(dn, entry) for dn, entry in results if dn]


def text_values(entry: dict, attr: str) -> list[str]:
    """An attribute's values as text (python-ldap gives bytes), case-insensitive on the name."""
    for key, values in entry.items():
        if key.lower() == attr.lower():
            return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
    return []


def equality_filter(attr: str, value: str) -> str:
    return f"({attr}={escape_filter_chars(value)})"
