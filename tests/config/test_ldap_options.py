"""The `ldap` options: typed, refused when nonsense, checked further only when LDAP is on."""

from __future__ import annotations

import pytest

from portus import config
from tests.config.test_config import folder  # noqa: F401

ON = {"PORTUS_LDAP_ENABLED": "true", "PORTUS_LDAP_HOSTNAME": "ldap.example.org",
      "PORTUS_LDAP_BASE": "ou=people,dc=example,dc=org"}


def test_defaults(folder):  # noqa: F811
    ldap = config.load(folder, environ={})["ldap"]
    assert ldap["admin_base"] == "" and ldap["credential_cache"]["seconds"] == 120
    assert ldap["group_sync"]["interval"] == 300 and not ldap["enabled"]


def test_an_unused_default_hostname_is_fine_while_off(folder):  # noqa: F811
    config.load(folder, environ={"PORTUS_LDAP_BASE": ""})


def test_ldap_on_turns_sign_up_off(folder):  # noqa: F811
    assert config.load(folder, environ={})["signup"]["enabled"]
    assert not config.load(folder, environ=ON)["signup"]["enabled"]


@pytest.mark.parametrize("env, message", [
    ({"PORTUS_LDAP_ENCRYPTION_METHOD": "tls"}, "ldap.encryption.method"),
    ({"PORTUS_LDAP_GROUP_SYNC_DEFAULT_ROLE": "admin"}, "ldap.group_sync.default_role"),
    ({"PORTUS_LDAP_CREDENTIAL_CACHE_SECONDS": "-1"}, "ldap.credential_cache.seconds"),
    ({"PORTUS_LDAP_GROUP_SYNC_INTERVAL": "1"}, "ldap.group_sync.interval"),
    ({**ON, "PORTUS_LDAP_PORT": "70000"}, "ldap.port"),
    ({**ON, "PORTUS_LDAP_BASE": " "}, "ldap.base"),
    ({**ON, "PORTUS_LDAP_UID": "uid)(x=*"}, "ldap.uid"),
    ({**ON, "PORTUS_LDAP_GUESS_EMAIL_ATTR": "mail*"}, "ldap.guess_email.attr"),
    ({**ON, "PORTUS_LDAP_FILTER": "(mail=*"}, "ldap.filter"),
    ({**ON, "PORTUS_LDAP_AUTHENTICATION_ENABLED": "true"}, "ldap.authentication.bind_dn"),
    ({**ON, "PORTUS_LDAP_ENCRYPTION_CA_FILE": "/nonexistent/ca.pem"}, "ldap.encryption.ca_file"),
    ({**ON, "PORTUS_LDAP_TIMEOUT": "0"}, "ldap.timeout"),
])
def test_bad_values_name_the_option(folder, env, message):  # noqa: F811
    with pytest.raises(config.ConfigError, match=message.replace(".", r"\.")):
        config.load(folder, environ=env)
