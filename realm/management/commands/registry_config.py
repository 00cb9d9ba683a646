"""Prints a complete config.yml for a Docker Distribution registry that uses this service.

With `--registry NAME` (the way to use it) the named registry gets a new notification secret, printed in
the configuration and stored here only as a keyed hash; the one it had stays valid for a day, so the
registry can be restarted with the new configuration at leisure (`--revoke-previous` if it leaked). Run it
again to rotate. Without `--registry`, the legacy shared PORTUS_WEBHOOK_SECRET goes into the configuration.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from portus.options import certificate_path, key_path, option
from realm.key_rotation import KeyFiles, write_bundle
from registries.models import Registry, canonical_host

# The registry's Go runtime runs goroutines on at most GOMAXPROCS threads at once, one per core by
# default. On a small machine under a burst of uploads, the goroutine that sends a notification then waits
# behind the uploads' for one of them: with 2 cores, 50 pushes at once and a receiver that answers at
# once, push→notified was p99 0.59–1.29 s with the default, 0.25–0.35 s with 8 and 0.17–0.35 s with 16
# (README, "2026-12-07"). Threads beyond the cores cost nothing while idle. The configuration file cannot
# set it; the process's environment does (scripts/run, deploy/compose.yml).
REGISTRY_GOMAXPROCS = 16


def notification_endpoints(url: str, secret: str, *, timeout: str) -> list[dict]:
    """The registry's notification endpoints: one for pushes and deletes, one for pulls.

    The registry sends each endpoint its events one at a time, so a push's event waits behind every event
    queued before it on its endpoint. On an endpoint of their own, pulls (a CI fleet's thousands a minute,
    and Portus's own reads of what was pushed) never hold up a push or a delete becoming visible. Blob
    events (layers, configs, mounts: every blob is application/octet-stream) change nothing Portus keeps
    and are not asked for. Both endpoints carry the registry's one notification secret."""
    def endpoint(name: str, ignored_actions: list[str]) -> dict:  # fresh objects: no YAML aliases
        return {"name": name, "url": url, "headers": {"Authorization": [f"Bearer {secret}"]}, "timeout": timeout,
                "threshold": 5, "backoff": "1s", "ignoredmediatypes": ["application/octet-stream"],
                "ignore": {"actions": ignored_actions}}

    return [endpoint("portus", ["pull"]), endpoint("portus-pulls", ["push", "delete", "mount"])]


class Command(BaseCommand):
    help = ("Print a complete Docker Distribution config.yml wired to this service: token realm, service, "
            "issuer, rootcertbundle, deletes enabled, and the notifications endpoint with its secret "
            "header. Works as printed: docker-registry serve <file>.")

    def add_arguments(self, parser):
        parser.add_argument("--portus-url", required=True,
                            help="how the registry reaches this service, e.g. https://portus.example.org")
        parser.add_argument("--registry", default="",
                            help="name of the registry (as added with create_registry): it gets a new "
                                 "notification secret, printed in the configuration")
        parser.add_argument("--revoke-previous", action="store_true",
                            help="with --registry: stop accepting its previous notification secret at once")
        parser.add_argument("--registry-addr", default="",
                            help="host:port of the registry, its token service (default: the host name of "
                                 "--registry; required without it)")
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
        registry = self._registry(opts["registry"].strip())
        addr = canonical_host(opts["registry_addr"])
        if registry is not None:
            if addr and addr != canonical_host(registry.hostname):
                raise CommandError(f"--registry-addr {addr!r} is not the host name of registry {registry.name!r} "
                                   f"({registry.hostname!r}), which must be its auth.token.service")
            addr = canonical_host(registry.hostname)
        if not addr:
            raise CommandError("Give --registry NAME (or, for the legacy shared secret, --registry-addr)")
        if ":" not in addr and not opts["listen"]:
            raise CommandError(f"{addr} has no port: give --listen (http.addr, e.g. :5000)")
        if bool(opts["tls_certificate"]) != bool(opts["tls_key"]):
            raise CommandError("--tls-certificate and --tls-key go together")
        if registry is None:
            secret = option("secrets.webhook_secret")
            if not secret:
                raise CommandError("Give --registry NAME: the registry gets its own notification secret (add "
                                   "it first with create_registry, --skip-check while it is not running), or "
                                   "set the legacy shared PORTUS_WEBHOOK_SECRET (secrets.webhook_secret).")
            self.stderr.write("Using the legacy shared PORTUS_WEBHOOK_SECRET: whoever holds it can report "
                              "events for every registry. Prefer --registry NAME.")
        bundle = self._bundle()
        if registry is not None:
            secret = self._rotate(registry, keep_previous=not opts["revoke_previous"])

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
                    "rootcertbundle": str(bundle),
                }
            },
            "notifications": {"endpoints": notification_endpoints(f"{portus_url}/v2/webhooks/events", secret,
                                                                  timeout=opts["timeout"])},
        }
        text = ("# Docker Distribution configuration for use with Portus.\n"
                "# auth.token.service is the registry's host name in Portus; the notifications secret is\n"
                "# shown only here: keep this file private.\n"
                f"# Start the registry with GOMAXPROCS={REGISTRY_GOMAXPROCS} in its environment: its notifications\n"
                "# then keep up with a burst of pushes on a machine of few cores (Portus's README).\n"
                + yaml.safe_dump(config, sort_keys=False))
        if opts["output"]:
            # Only its owner may read it: the notification secret is in it.
            Path(opts["output"]).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(opts["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            self.stderr.write(f"Wrote {opts['output']}.")
        else:
            self.stdout.write(text, ending="")

    def _bundle(self) -> Path:
        """The rootcertbundle: the bundle beside the certificate, rewritten now from the certificates that
        are trusted (current, and next or previous during a key rotation). Where it cannot be written (a
        read-only mount) and there is nothing to rotate, the certificate itself does."""
        files = KeyFiles.of(key_path(), certificate_path().resolve())
        if not files.certificate.exists():
            raise CommandError(f"No certificate at {files.certificate}: run `manage.py generate_keys` first.")
        try:
            return write_bundle(files)
        except OSError as exc:
            if files.trusted() == [files.certificate]:
                self.stderr.write(f"Cannot write {files.bundle} ({exc.strerror}): the rootcertbundle is the "
                                  "certificate itself; a key rotation (generate_keys --next) needs the bundle.")
                return files.certificate
            raise CommandError(f"Cannot write the certificate bundle {files.bundle}: {exc.strerror}") from None

    def _registry(self, name: str) -> Registry | None:
        if not name:
            return None
        registry = Registry.objects.filter(name=name).first()
        if registry is None:
            known = ", ".join(Registry.objects.order_by("name").values_list("name", flat=True)[:20]) or "none yet"
            raise CommandError(f"No registry named {name!r} (known: {known}). Add it with create_registry "
                               "(--skip-check while it is not running).")
        return registry

    def _rotate(self, registry: Registry, *, keep_previous: bool) -> str:
        from registries.services import registry_notification_secret_rotate

        made = registry_notification_secret_rotate(registry=registry, by=None, keep_previous=keep_previous)
        kept = (f"its previous secret is accepted until {made.previous_valid_until:%Y-%m-%d %H:%M %Z}"
                if made.previous_valid_until else "no earlier secret is accepted")
        self.stderr.write(f"New notification secret {made.registry.notification_secret_prefix}… for registry "
                          f"{registry.name!r}; {kept}. Restart the registry with this configuration.")
        return made.plain
