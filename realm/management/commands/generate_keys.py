"""Writes the token-signing key and its self-signed certificate."""

from django.core.management.base import BaseCommand, CommandError

from portus.options import certificate_path, key_path, option
from realm.keys import write_key_pair


class Command(BaseCommand):
    help = ("Generate the private key that signs registry tokens (secrets.key_path / PORTUS_KEY_PATH) "
            "and its self-signed certificate (secrets.certificate_path / PORTUS_CERTIFICATE_PATH), which "
            "is the registry's auth.token.rootcertbundle.")

    def add_arguments(self, parser):
        parser.add_argument("--common-name", default="", help="defaults to machine_fqdn")
        parser.add_argument("--key-type", choices=["rsa", "ec"], default="rsa")
        parser.add_argument("--rsa-bits", type=int, default=2048, choices=[2048, 3072, 4096],
                            help="RSA key size (default 2048: a 4096-bit key makes every token ~6x slower "
                                 "to sign, on the path of every registry request)")
        parser.add_argument("--force", action="store_true", help="overwrite existing files")
        parser.add_argument("--if-missing", action="store_true", help="do nothing if both files exist")

    def handle(self, *args, **opts):
        key, cert = key_path(), certificate_path()
        if opts["if_missing"] and key.exists() and cert.exists():
            self.stdout.write(f"Keeping the existing key {key} and certificate {cert}.")
            return
        key.parent.mkdir(parents=True, exist_ok=True)
        cert.parent.mkdir(parents=True, exist_ok=True)
        common_name = opts["common_name"] or option("machine_fqdn.value").split(":")[0]
        try:
            write_key_pair(key, cert, common_name, key_type=opts["key_type"], rsa_bits=opts["rsa_bits"],
                           overwrite=opts["force"])
        except (FileExistsError, ValueError) as exc:
            raise CommandError(f"{exc} (use --force to replace it)") from None
        self.stdout.write(f"Wrote {key} and {cert} (CN={common_name}).")
