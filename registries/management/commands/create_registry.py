"""Adds a registry, checking that it answers."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registries.models import Registry, canonical_host
from registries.services import registry_create


class Command(BaseCommand):
    help = ("Add the Docker Distribution registry this service authorises. Its /v2/ must answer 200 "
            "or 401 with Docker-Distribution-Api-Version, unless --skip-check.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--hostname", required=True, help="host:port this service reaches it at")
        parser.add_argument("--external-hostname", default="", help="host:port clients use, if different")
        ssl = parser.add_mutually_exclusive_group()
        ssl.add_argument("--use-ssl", dest="use_ssl", action="store_true", default=True)
        ssl.add_argument("--no-ssl", dest="use_ssl", action="store_false")
        parser.add_argument("--skip-check", action="store_true", help="save even if it does not answer")
        parser.add_argument("--if-missing", action="store_true",
                            help="do nothing if a registry of this name exists with this host name")

    def handle(self, *args, **opts):
        existing = Registry.objects.filter(name=opts["name"].strip()).first() if opts["if_missing"] else None
        if existing is not None:
            if canonical_host(existing.hostname) != canonical_host(opts["hostname"]):
                raise CommandError(f"Registry '{existing.name}' exists with the host name {existing.hostname}, "
                                   f"not {opts['hostname']}: change it under Admin → Registries.")
            self.stdout.write(f"Keeping registry '{existing.name}' at {existing.base_url}.")
            return
        try:
            registry = registry_create(name=opts["name"], hostname=opts["hostname"], use_ssl=opts["use_ssl"],
                                       external_hostname=opts["external_hostname"], by=None,
                                       check=not opts["skip_check"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Added registry '{registry.name}' at {registry.base_url}.")
        self.stdout.write(f"Its configuration, with its own notification secret: manage.py registry_config "
                          f"--registry {registry.name} --portus-url URL --storage FOLDER")
