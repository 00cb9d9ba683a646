"""Creates (or resets) the internal `portus` account that reads the registry."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_account_ensure
from portus.options import option


class Command(BaseCommand):
    help = ("Create the internal `portus` account (an admin bot) that this service uses to read the "
            "registry. Its password comes from PORTUS_PASSWORD (secrets.portus_password); the command "
            "refuses to run without it. Running it again resets the password. An account named `portus` "
            "that this command did not create is refused, never made an admin.")

    def handle(self, *args, **options):
        password = option("secrets.portus_password")
        try:
            user, created = api_account_ensure(password=password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{'Created' if created else 'Updated'} the internal account '{user.username}'.")
