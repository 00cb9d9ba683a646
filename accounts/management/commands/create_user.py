"""Creates a user from the command line."""

import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_create


class Command(BaseCommand):
    help = ("Create a user with a personal namespace. The password is read from --password-env "
            "(the name of an environment variable), or asked for interactively. Reserved names (admin, "
            "registry, …) need --allow-reserved-name; `portus` is the internal account's (create_api_account).")

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password-env", metavar="VAR",
                            help="read the password from this environment variable")
        parser.add_argument("--admin", action="store_true", help="make the user an administrator")
        parser.add_argument("--bot", action="store_true", help="a bot account (no web login)")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--allow-reserved-name", action="store_true",
                            help="allow a reserved name such as admin or registry (never the internal portus)")

    def handle(self, *args, **opts):
        if opts["password_env"]:
            password = os.environ.get(opts["password_env"], "")
            if not password:
                raise CommandError(f"The environment variable {opts['password_env']} is empty or unset.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            user = user_create(username=opts["username"], email=opts["email"] or None, password=password,
                               admin=opts["admin"], bot=opts["bot"], display_name=opts["display_name"],
                               allow_reserved_name=opts["allow_reserved_name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        kind = "admin" if user.admin else ("bot" if user.bot else "user")
        self.stdout.write(f"Created {kind} '{user.username}'.")
