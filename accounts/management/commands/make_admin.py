"""Grants (or revokes) administrator rights."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import user_update


class Command(BaseCommand):
    help = "Make a user an administrator (or, with --revoke, an ordinary user again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true")

    def handle(self, *args, **opts):
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user named {opts['username']!r}.")
        try:
            user_update(user=user, by=user, admin=not opts["revoke"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"'{user.username}' is {'an administrator' if user.admin else 'no longer an administrator'}.")
