"""HTTPS deliveries: the connection goes to the checked address, while the certificate is checked against
the URL's host name (SNI too), so pinning the address weakens nothing."""

from __future__ import annotations

import ssl

import pytest

from hooks import queue, sender
from hooks.models import Delivery
from hooks.services import WebhookInput, webhook_create
from tests.e2e.support.tls import TestCA
from tests.hooks.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def ca(tmp_path):
    return TestCA(tmp_path / "ca", name="Webhook test CA")


@pytest.fixture
def https(ca, monkeypatch, options):
    issued = ca.issue("hooks", dns=("hooks.example.test",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    server = Receiver(host="127.0.0.2", tls=context)
    server.sni = []
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
    server.start()
    # Trust the test CA instead of the public ones; everything else is the sender's own context.
    monkeypatch.setattr(sender, "_tls_context", lambda: ssl.create_default_context(cafile=str(ca.cert)))
    options.set("webhooks.allowed_private_networks", "127.0.0.2/32")
    yield server
    server.stop()


def deliver(namespace, owner, url: str) -> Delivery:
    webhook = webhook_create(namespace=namespace, data=WebhookInput(url=url), by=owner)[0]
    queue.ping_queue(webhook=webhook)
    queue.drain(resolver=lambda host, port: ["127.0.0.2"])
    return Delivery.objects.get(webhook=webhook)


def test_https_is_delivered_to_the_pinned_address_with_the_names_certificate(https, namespace, owner):
    delivery = deliver(namespace, owner, https.url(host="hooks.example.test"))
    assert delivery.status == "succeeded", delivery.error
    assert https.sni == ["hooks.example.test"]
    assert https.requests[0].headers["Host"] == f"hooks.example.test:{https.port}"


def test_a_certificate_for_another_name_is_refused(https, namespace, owner):
    delivery = deliver(namespace, owner, https.url(host="other.example.test"))
    assert delivery.status == "pending" and delivery.response_status is None
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.error or "certificate" in delivery.error.lower()
    assert https.requests == []
