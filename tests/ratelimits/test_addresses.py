"""Which address a failure counts against: the peer, a trusted proxy's hop, IPv6 by /64."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from portus.config import ConfigError
from ratelimits.addresses import address_key, trusted_networks


def request(remote: str = "198.51.100.7", forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_the_peer_is_the_client_by_default():
    assert address_key(request()) == "198.51.100.7"


def test_a_forwarded_header_is_ignored_unless_the_peer_is_a_trusted_proxy(options):
    assert address_key(request(forwarded="203.0.113.9")) == "198.51.100.7"
    options.set("rate_limit.trusted_proxies", "10.0.0.0/8")
    assert address_key(request(forwarded="203.0.113.9")) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(options):
    options.set("rate_limit.trusted_proxies", "10.0.0.0/8, 192.0.2.1")
    # The client wrote "1.1.1.1" itself; the proxies appended the address they saw.
    assert address_key(request("10.0.0.2", "1.1.1.1, 203.0.113.9, 192.0.2.1")) == "203.0.113.9"
    assert address_key(request("10.0.0.2", "203.0.113.9")) == "203.0.113.9"


def test_an_unreadable_hop_stops_at_the_last_trusted_one(options):
    options.set("rate_limit.trusted_proxies", "10.0.0.0/8")
    assert address_key(request("10.0.0.2", "203.0.113.9, garbage")) == "10.0.0.2"
    assert address_key(request("10.0.0.2", "")) == "10.0.0.2"


def test_ipv6_is_grouped_by_64_and_mapped_ipv4_is_ipv4():
    assert address_key(request("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert address_key(request("2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert address_key(request("::ffff:198.51.100.7")) == "198.51.100.7"


def test_a_peer_that_is_no_address_is_unknown():
    assert address_key(request("")) == "unknown"
    assert address_key(request("unix:/run/portus.sock")) == "unknown"


def test_a_bad_trusted_proxy_is_a_config_error():
    with pytest.raises(ConfigError, match="rate_limit.trusted_proxies"):
        trusted_networks("10.0.0.0/8, not-a-network")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000), st.text(max_size=60))
def test_any_header_gives_a_short_key_fast(forwarded, remote):
    from django.conf import settings as django_settings

    tree = django_settings.PORTUS
    tree["rate_limit"]["trusted_proxies"] = "0.0.0.0/0, ::/0"
    key = address_key(request(remote, forwarded))
    assert key == "unknown" or len(key) <= 43
