"""The client address a rate limit counts against: the peer, or the hop a trusted proxy names.

X-Forwarded-For is believed only when the peer is one of `rate_limit.trusted_proxies`: otherwise any
client could name whatever address it likes and never be limited (or fill another's budget). Behind
trusted proxies the client is the right-most hop that is not itself a trusted proxy. IPv6 addresses are
grouped by /64, the block one subscriber usually holds, so hopping inside it does not reset the count.
"""

from __future__ import annotations

import functools
import ipaddress

from django.http import HttpRequest

from portus.config import ConfigError
from portus.options import option

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"
# A longer chain is not a real deployment; reading further would let a client make us parse without end.
_MAX_HOPS = 16


@functools.lru_cache(maxsize=8)
def trusted_networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The parsed `rate_limit.trusted_proxies` (comma-separated addresses or CIDR networks)."""
    networks = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"rate_limit.trusted_proxies: {item!r} is not an address or network") from None
    return tuple(networks)


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, networks) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request: HttpRequest) -> IPAddress | None:
    """The client's address, or None when the peer address is not an IP address."""
    peer = _parse(request.META.get("REMOTE_ADDR", "") or "")
    networks = trusted_networks(option("rate_limit.trusted_proxies"))
    if peer is None or not networks or not _is_trusted(peer, networks):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") or ""
    if len(forwarded) > _MAX_HOPS * 64:
        # Keep the right-most hops only, and never a hop cut in half (it could read as another address).
        forwarded = forwarded[-_MAX_HOPS * 64:].partition(",")[2]
    client = peer
    for hop in reversed(forwarded.split(",")[-_MAX_HOPS:]):
        address = _parse(hop)
        if address is None:
            break  # a hop we cannot read: the last one a trusted proxy vouched for is the client
        client = address
        if not _is_trusted(address, networks):
            break
    return client


def address_key(request: HttpRequest) -> str:
    """What failures from this request are counted under: `192.0.2.7`, `2001:db8:1:2::/64`."""
    address = client_ip(request)
    if address is None:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
