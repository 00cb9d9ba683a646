"""Where a webhook may be delivered: URL rules, and the guard against server-side request forgery.

A webhook URL is chosen by a namespace owner, who is not trusted to reach this service's own network. So
unless `webhooks.allow_private_targets` is on, a delivery is refused when the host resolves to any address
that is not globally routable: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local
(169.254/16 — cloud metadata — and fe80::/10), multicast, unspecified, shared (100.64/10), reserved and
documentation ranges, and IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, 6to4, Teredo,
NAT64 64:ff9b::/96) whose IPv4 address is one of those. `webhooks.allowed_private_networks` lists networks
allowed anyway (an internal CI server). The check runs after DNS resolution, on every address the name
resolves to, and the connection goes to the address that was checked (hooks/sender.py), so a name that
resolves differently the second time (DNS rebinding) gains nothing. Redirects are checked hop by hop.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, quote, urlsplit

from portus.config import ConfigError
from portus.options import option

MAX_URL_LENGTH = 2000
_SAFE = "/?&=%:@!$'()*+,;~-._[]"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class TargetRefused(ValueError):
    """A URL or address a webhook may not be delivered to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (an IDN in its ASCII form), for Host, SNI and certificate checks
    port: int
    path: str  # path and query, as sent on the request line

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host.lower(), self.port


def parse_url(url: str) -> Target:
    """The parts of an http(s) URL this service will deliver to; TargetRefused says what is wrong."""
    if not isinstance(url, str) or not url:
        raise TargetRefused("Enter a URL.")
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"A URL may be at most {MAX_URL_LENGTH} characters long.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise TargetRefused("A URL may not contain spaces or control characters.")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:
        raise TargetRefused("This is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("Only http:// and https:// URLs are delivered to.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Put credentials in the username and password fields, not in the URL.")
    if not hostname:
        raise TargetRefused("The URL names no host.")
    try:
        host = hostname.encode("idna").decode("ascii") if not hostname.isascii() else hostname
    except UnicodeError:
        raise TargetRefused("The URL's host name is not a valid domain name.") from None
    if len(host) > 253 or not all(c.isalnum() or c in ".-_:" for c in host):
        raise TargetRefused("The URL's host name is not a valid domain name.")
    if port == 0:
        raise TargetRefused("The URL's port must be 1 to 65535.")
    # Non-ASCII in the path or query is sent percent-encoded (a request line is ASCII); what is already
    # encoded stays as written.
    path = quote(parts.path or "/", safe=_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE)
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


@lru_cache(maxsize=8)
def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"webhooks.allowed_private_networks: {item!r} is not an address or network") from None
    return tuple(networks)


def allowed_networks() -> tuple:
    return _networks(str(option("webhooks.allowed_private_networks")))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def why_not_public(address: IPAddress) -> str:
    """'' for a globally routable unicast address, else what kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = why_not_public(inner)
            return f"an IPv6 address embedding {inner}, {reason}" if reason else ""
        if address.scope_id:
            return "a scoped (link-local) address"
    for kind in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if not address.is_global:
        return "not a globally routable address"
    return ""


def check_address(address: IPAddress) -> None:
    """Raises TargetRefused unless the address may be delivered to under the current options."""
    reason = why_not_public(address)
    if not reason or option("webhooks.allow_private_targets"):
        return
    if any(address.version == network.version and address in network for network in allowed_networks()):
        return
    raise TargetRefused(f"{address} is {reason}; deliveries to it are refused "
                        "(webhooks.allow_private_targets is off)")


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _literal(host: str) -> list[IPAddress] | None:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        return None


def resolve(target: Target, resolver: Resolver | None = None) -> IPAddress:
    """The address to connect to: every address the host resolves to is checked, the first is used."""
    addresses = _literal(target.host)
    if addresses is None:
        try:
            found = (resolver or _system_resolver)(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"{target.host} does not resolve: {exc}") from None
        addresses = []
        for raw in found:
            try:
                addresses.append(ipaddress.ip_address(raw.split("%", 1)[0]))
            except ValueError:
                continue
        if not addresses:
            raise TargetRefused(f"{target.host} does not resolve to any address")
    for address in addresses:
        check_address(address)
    return addresses[0]


def validate_url(url: str) -> Target:
    """What a form or the API checks when a URL is saved: its shape, and a literal address or `localhost`
    at once (a name's addresses are checked when delivering, since they may change)."""
    target = parse_url(url)
    literal = target.host.strip("[]")
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        if target.host.lower().rstrip(".") in ("localhost", "localhost.localdomain") or \
                target.host.lower().rstrip(".").endswith(".localhost"):
            check_address(ipaddress.ip_address("127.0.0.1"))
        return target
    check_address(address)
    return target
