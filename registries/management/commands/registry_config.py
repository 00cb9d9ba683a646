"""Prints a complete config.yml for a Docker Distribution registry that uses this service."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from portus.options import certificate_path, option


class Command(BaseCommand):
    help = ("Print a complete Docker Distribution config.yml wired to this service: token realm, service, "
            "issuer, rootcertbundle, deletes enabled, and the notifications endpoint with its secret "
            "header. Works as printed: docker-registry serve <file>.")

    def add_arguments(self, parser):
        parser.add_argument("--portus-url", required=True,
                            help="how the registry reaches this service, e.g. https://portus.example.org")
        parser.add_argument("--registry-addr", required=True,
                            help="host:port of the registry as clients name it (also the token service)")
        parser.add_argument("--storage", required=True, help="folder the registry stores images in")
        parser.add_argument("--listen", default="", help="http.addr to listen on (default :PORT)")
        parser.add_argument("--realm-url", default="",
                            help="token realm as clients reach it, if not PORTUS_URL/v2/token")
        parser.add_argument("--tls-certificate", default="", help="the registry's TLS certificate")
        parser.add_argument("--tls-key", default="", help="the registry's TLS key")
        parser.add_argument("--timeout", default="2s", help="notification timeout (default 2s)")
        parser.add_argument("--output", "-o", default="", help="write to this file instead of stdout")

    def handle(self, *args, **opts):
        portus_url = opts["portus_url"].rstrip("/")
        if not portus_url.startswith(("http://", "https://")):
            raise CommandError("--portus-url must start with http:// or https://")
        addr = opts["registry_addr"].strip()
        if ":" not in addr:
            raise CommandError("--registry-addr must be host:port")
        if bool(opts["tls_certificate"]) != bool(opts["tls_key"]):
            raise CommandError("--tls-certificate and --tls-key go together")
        secret = option("secrets.webhook_secret")
        if not secret:
            raise CommandError("PORTUS_WEBHOOK_SECRET (secrets.webhook_secret) is not set: the registry "
                               "must authenticate its notifications.")
        cert = certificate_path().resolve()
        if not cert.exists():
            raise CommandError(f"No certificate at {cert}: run `manage.py generate_keys` first.")

        http: dict = {"addr": opts["listen"] or ":" + addr.rsplit(":", 1)[1],
                      "secret": secrets.token_urlsafe(32),
                      "headers": {"X-Content-Type-Options": ["nosniff"]}}
        if opts["tls_certificate"]:
            http["tls"] = {"certificate": str(Path(opts["tls_certificate"]).resolve()),
                           "key": str(Path(opts["tls_key"]).resolve())}
        config = {
            "version": 0.1,
            "log": {"level": "info", "fields": {"service": "registry"}},
            "storage": {
                "filesystem": {"rootdirectory": str(Path(opts["storage"]).resolve())},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
            },
            "http": http,
            "auth": {
                "token": {
                    "realm": opts["realm_url"] or f"{portus_url}/v2/token",
                    "service": addr,
                    "issuer": option("machine_fqdn.value"),
                    "rootcertbundle": str(cert),
                }
            },
            "notifications": {
                "endpoints": [{
                    "name": "portus",
                    "url": f"{portus_url}/v2/webhooks/events",
                    "headers": {"Authorization": [f"Bearer {secret}"]},
                    "timeout": opts["timeout"],
                    "threshold": 5,
                    "backoff": "1s",
                }]
            },
        }
        text = ("# Docker Distribution configuration for use with Portus.\n"
                "# Add the registry to Portus with the same host:port as auth.token.service.\n"
                + yaml.safe_dump(config, sort_keys=False))
        if opts["output"]:
            Path(opts["output"]).write_text(text)
            self.stderr.write(f"Wrote {opts['output']}.")
        else:
            self.stdout.write(text, ending="")
