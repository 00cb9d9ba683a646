"""Writes the token-signing key and its self-signed certificate, and rotates them (realm/key_rotation.py)."""

from django.core.management.base import BaseCommand, CommandError

from portus.options import certificate_path, key_path, option
from realm.key_rotation import (
    KeyFiles,
    RotationError,
    key_next_create,
    key_previous_drop,
    key_promote,
    write_bundle,
)
from realm.keys import write_key_pair


class Command(BaseCommand):
    help = ("Generate the private key that signs registry tokens (secrets.key_path / PORTUS_KEY_PATH) "
            "and its self-signed certificate (secrets.certificate_path / PORTUS_CERTIFICATE_PATH), and the "
            "bundle beside it that is the registry's auth.token.rootcertbundle. Rotate without downtime: "
            "--next, restart the registry, --promote, wait for the old tokens to expire, --drop-previous, "
            "restart the registry.")

    def add_arguments(self, parser):
        parser.add_argument("--common-name", default="", help="defaults to machine_fqdn")
        parser.add_argument("--key-type", choices=["rsa", "ec"], default="rsa")
        parser.add_argument("--rsa-bits", type=int, default=2048, choices=[2048, 3072, 4096],
                            help="RSA key size (default 2048: a 4096-bit key makes every token ~6x slower "
                                 "to sign, on the path of every registry request)")
        parser.add_argument("--force", action="store_true", help="overwrite existing files")
        parser.add_argument("--if-missing", action="store_true", help="do nothing if both files exist")
        step = parser.add_mutually_exclusive_group()
        step.add_argument("--next", action="store_true",
                          help="rotation, step 1: write the next key and certificate beside the current ones "
                               "and add the certificate to the bundle")
        step.add_argument("--promote", action="store_true",
                          help="rotation, step 2: sign with the next key from now on; the old certificate "
                               "stays in the bundle as the previous one")
        step.add_argument("--drop-previous", action="store_true",
                          help="rotation, step 3: stop trusting the previous certificate")

    def handle(self, *args, **opts):
        files = KeyFiles.of(key_path(), certificate_path())
        try:
            if opts["next"]:
                return self._next(files, opts)
            if opts["promote"]:
                return self._promote(files)
            if opts["drop_previous"]:
                return self._drop(files)
            return self._generate(files, opts)
        except RotationError as exc:
            raise CommandError(str(exc)) from None

    def _common_name(self, opts) -> str:
        return opts["common_name"] or option("machine_fqdn.value").split(":")[0]

    def _generate(self, files: KeyFiles, opts) -> None:
        key, cert = files.key, files.certificate
        if opts["if_missing"] and key.exists() and cert.exists():
            write_bundle(files)
            self.stdout.write(f"Keeping the existing key {key} and certificate {cert}.")
            return
        common_name = self._common_name(opts)
        try:
            write_key_pair(key, cert, common_name, key_type=opts["key_type"], rsa_bits=opts["rsa_bits"],
                           overwrite=opts["force"])
        except (FileExistsError, ValueError) as exc:
            raise CommandError(f"{exc} (use --force to replace it)") from None
        bundle = write_bundle(files)
        self.stdout.write(f"Wrote {key} and {cert} (CN={common_name}); the registry's rootcertbundle is {bundle}.")

    def _next(self, files: KeyFiles, opts) -> None:
        key_next_create(files=files, common_name=self._common_name(opts), overwrite=opts["force"],
                        key_type=opts["key_type"], rsa_bits=opts["rsa_bits"])
        self.stdout.write(
            f"Wrote the next key {files.next_key} and certificate {files.next_certificate}; the bundle "
            f"{files.bundle} now holds the current and the next certificate.\n"
            "Next: restart the registry (it reads its rootcertbundle at start-up), so that it accepts tokens "
            "of both keys; then run `manage.py generate_keys --promote`.")

    def _promote(self, files: KeyFiles) -> None:
        signer = key_promote(files=files)
        minutes = max(option("registry.jwt_expiration_time.value"),
                      option("registry.jwt_expiration_time_push.value"))
        self.stdout.write(
            f"Tokens are signed by the new key (kid {signer.kid}) from now on: running Portus processes use it "
            f"from their next token. The old certificate is kept as {files.previous_certificate}, and in the "
            f"bundle, so tokens it signed stay valid until they expire (at most {minutes} minutes, plus the "
            "registry's minute of leeway).\n"
            "Next, after that: run `manage.py generate_keys --drop-previous`, then restart the registry.")

    def _drop(self, files: KeyFiles) -> None:
        if key_previous_drop(files=files):
            self.stdout.write(f"Dropped the previous certificate; the bundle {files.bundle} holds the current "
                              "one only.\nNext: restart the registry, so that it stops trusting the old key.")
        else:
            self.stdout.write(f"No previous certificate was kept; the bundle {files.bundle} is up to date.")
