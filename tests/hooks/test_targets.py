"""The guard against server-side request forgery: which addresses are refused, after DNS resolution, on
the connection actually made, and on every redirect hop."""

from __future__ import annotations

import ipaddress
import json

import pytest

from hooks import queue, sender, targets
from hooks.models import Delivery
from hooks.services import WebhookInput, webhook_create
from tests.hooks.receiver import Receiver

REFUSED = ["127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
           "0.0.0.0",  # noqa: S104 - refused, not bound
           "224.0.0.251", "255.255.255.255", "192.0.2.1", "198.18.0.1", "240.0.0.1", "::1", "::",
           "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
           "::ffff:169.254.169.254", "2002:7f00:1::1", "2002:a00:1::", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
           "2001:db8::1"]
PUBLIC = ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
          "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address, settings):
    assert targets.why_not_public(ipaddress.ip_address(address))
    with pytest.raises(targets.TargetRefused):
        targets.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address, settings):
    assert targets.why_not_public(ipaddress.ip_address(address)) == ""
    targets.check_address(ipaddress.ip_address(address))


def test_the_options_allow_private_targets_or_some_networks(options):
    with pytest.raises(targets.TargetRefused):
        targets.check_address(ipaddress.ip_address("10.20.30.40"))
    options.set("webhooks.allowed_private_networks", "10.20.0.0/16, 192.168.7.7")
    targets.check_address(ipaddress.ip_address("10.20.30.40"))
    targets.check_address(ipaddress.ip_address("192.168.7.7"))
    with pytest.raises(targets.TargetRefused):
        targets.check_address(ipaddress.ip_address("10.21.0.1"))
    options.set("webhooks.allow_private_targets", True)
    targets.check_address(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize("url", [
    "ftp://example.org/", "file:///etc/passwd", "gopher://example.org/", "javascript:alert(1)", "//example.org/",
    "http://user:pass@example.org/", "http://example.org:0/", "http://example.org:99999/", "http:///path",
    "http://exa mple.org/", "http://example.org/\r\nHost: evil", "http://[::1/", "http://127.0.0.1/",
    "http://localhost:8080/", "http://foo.localhost/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/",
    "http://0.0.0.0:80/", "http://[fe80::1%25eth0]/", "https://" + "a" * 2001,
])
def test_urls_refused_when_saved(url, db):
    with pytest.raises(targets.TargetRefused):
        targets.validate_url(url)


@pytest.mark.parametrize("url", ["https://ci.example.org/hook", "http://8.8.8.8:8080/x?y=1",
                                 "https://bücher.example/hook", "https://[2606:4700:4700::1111]/"])
def test_urls_accepted_when_saved(url, db):
    assert targets.validate_url(url).scheme in ("http", "https")


# --- deliveries --------------------------------------------------------------------------------------


@pytest.fixture
def webhook(db, namespace, owner):
    def make(url: str, **fields):
        return webhook_create(namespace=namespace, data=WebhookInput(url=url, **fields), by=owner)[0]
    return make


@pytest.fixture
def second():
    """A server on another loopback address: 127.0.0.2, marked public for a test by allowed_private_networks."""
    server = Receiver(host="127.0.0.2").start()
    yield server
    server.stop()


def test_a_loopback_target_is_refused_at_once_without_a_request(webhook, receiver, options):
    options.set("webhooks.allow_private_targets", True)
    hook = webhook(receiver.url())
    options.set("webhooks.allow_private_targets", False)
    queue.ping_queue(webhook=hook)
    queue.drain()
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == "failed" and delivery.attempts == 1  # no retry: it cannot help
    assert "127.0.0.1 is a loopback address" in delivery.error
    assert receiver.requests == []


def test_a_name_is_checked_after_resolution_and_the_checked_address_is_the_one_called(webhook, second, options):
    hook = webhook(f"http://hooks.invalid:{second.port}/in")
    options.set("webhooks.allowed_private_networks", "127.0.0.2/32")
    asked = []

    def resolver(host, port):
        asked.append((host, port))
        return ["127.0.0.2"]

    queue.ping_queue(webhook=hook)
    queue.drain(resolver=resolver)
    assert asked == [("hooks.invalid", second.port)]  # once: no second resolution
    [got] = second.requests
    assert got.headers["Host"] == f"hooks.invalid:{second.port}"
    assert Delivery.objects.get(webhook=hook).status == "succeeded"


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["8.8.8.8", "10.0.0.1"], ["::ffff:127.0.0.1"], ["::1"],
                                     ["169.254.169.254"]])
def test_a_name_resolving_to_any_private_address_is_refused(webhook, second, answers):
    hook = webhook(f"http://hooks.invalid:{second.port}/in")
    queue.ping_queue(webhook=hook)
    queue.drain(resolver=lambda host, port: answers)
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == "failed" and "refused" in delivery.error
    assert second.requests == []


def test_a_redirect_to_loopback_is_refused(webhook, receiver, second, options):
    options.set("webhooks.allowed_private_networks", "127.0.0.2/32")
    for location in (receiver.url("/internal"), f"http://[::ffff:127.0.0.1]:{receiver.port}/internal",
                     f"http://localhost:{receiver.port}/internal"):
        second.requests.clear()
        second.answers = [(302, {"Location": location}, b"")]
        hook = webhook(second.url("/start"))
        queue.ping_queue(webhook=hook)
        queue.drain()
        delivery = Delivery.objects.get(webhook=hook)
        assert delivery.status == "failed", location
        assert "loopback" in delivery.error and "redirected" in delivery.error
        assert [r.path for r in second.requests] == ["/start"]
    assert receiver.requests == []  # the internal server was never reached


def test_redirects_are_followed_checked_and_bounded(webhook, second, options):
    options.set("webhooks.allowed_private_networks", "127.0.0.2/32")
    second.answers = [(307, {"Location": "/next"}, b""), (200, {}, b"done")]
    hook = webhook(second.url("/start"))
    queue.ping_queue(webhook=hook)
    queue.drain()
    first, then = second.requests
    assert (first.path, then.path) == ("/start", "/next")
    assert then.method == "POST" and then.body == first.body  # 307 repeats the request
    assert Delivery.objects.get(webhook=hook).status == "succeeded"

    second.requests.clear()
    second.answers = [(302, {"Location": "/again"}, b"")]
    loop = webhook(second.url("/loop"))
    queue.ping_queue(webhook=loop)
    queue.drain()
    assert len(second.requests) == sender.MAX_REDIRECTS + 1
    assert [r.method for r in second.requests] == ["POST", "GET", "GET", "GET"]  # 302 turns into a GET
    delivery = Delivery.objects.get(webhook=loop)
    assert "more than 3 redirects" in delivery.error and delivery.status == "pending"


def test_credentials_do_not_follow_a_redirect_to_another_host(webhook, second, options):
    options.set("webhooks.allowed_private_networks", "127.0.0.2/32, 127.0.0.3/32")
    third = Receiver(host="127.0.0.3").start()
    try:
        second.answers = [(308, {"Location": third.url("/there")}, b"")]
        hook = webhook(second.url("/here"), username="ci", password="secret", headers=[("X-Token", "t0k3n")])
        queue.ping_queue(webhook=hook)
        queue.drain()
        [here], [there] = second.requests, third.requests
        assert here.headers["Authorization"].startswith("Basic ") and here.headers["X-Token"] == "t0k3n"
        assert "Authorization" not in there.headers and "X-Token" not in there.headers
        assert there.headers["X-Portus-Signature"] == here.headers["X-Portus-Signature"]
        assert json.loads(there.body)["event"] == "ping"
    finally:
        third.stop()


def test_a_large_answer_is_read_only_in_part(webhook, receiver, private_allowed):
    receiver.answers = [(200, {"X-Many": "y" * 5000}, b"z" * 1_000_000)]
    hook = webhook(receiver.url())
    queue.ping_queue(webhook=hook)
    queue.drain()
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == "succeeded"
    assert len(delivery.response_body) == queue.MAX_KEPT_RESPONSE
    assert len(delivery.response_headers["X-Many"]) == 1000
