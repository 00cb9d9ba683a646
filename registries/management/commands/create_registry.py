"""Adds a registry, checking that it answers."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

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

    def handle(self, *args, **opts):
        try:
            registry = registry_create(name=opts["name"], hostname=opts["hostname"], use_ssl=opts["use_ssl"],
                                       external_hostname=opts["external_hostname"], by=None,
                                       check=not opts["skip_check"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Added registry '{registry.name}' at {registry.base_url}.")
        self.stdout.write(f"Its configuration, with its own notification secret: manage.py registry_config "
                          f"--registry {registry.name} --portus-url URL --storage FOLDER")
