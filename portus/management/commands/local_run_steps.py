"""Prints what to do next after `scripts/run`: every command as it works, pasted into any shell here."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.models import User
from registries.models import Registry

LOCAL_REGISTRY = "local"


def registry_config_command(*, portus_url: str, registry_addr: str) -> str:
    """The registry_config line scripts/run runs itself (a new notification secret each time)."""
    return (f".venv/bin/python manage.py registry_config --registry {LOCAL_REGISTRY} --portus-url {portus_url} "
            f"--listen {registry_addr} --storage var/registry -o var/registry.yml")


class Command(BaseCommand):
    help = "Print the next steps of a local run (used by scripts/run)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, required=True, help="the port gunicorn listens on")
        parser.add_argument("--registry-port", type=int, default=5000)
        parser.add_argument("--registry", choices=["started", "off", "missing"], default="started",
                            help="whether scripts/run starts a registry: yes, --no-registry, not installed")
        parser.add_argument("--pid", type=int, default=0, help="the process id of scripts/run")

    def handle(self, *args, **opts):
        from web.forms_admin import RegistryForm

        url = f"http://127.0.0.1:{opts['port']}"
        addr = f"127.0.0.1:{opts['registry_port']}"
        has_accounts = User.objects.filter(bot=False).exists()
        lines = [f"Portus is starting at {url} (REST API and its documentation: {url}/api/docs)."]
        if opts["registry"] == "started":
            lines.append(f"A registry is starting at {addr}, wired to it: configuration var/registry.yml, images "
                         "in var/registry, log var/registry.log.")
        lines += ["", "Next steps:"]
        step = 1
        if has_accounts:
            lines.append(f" {step}. Sign in at {url}/users/sign_in.")
        else:
            lines.append(f" {step}. Open {url}/users/sign_up : the first account becomes the administrator.")
        step += 1
        if opts["registry"] != "started":
            why = ("(Debian: apt-get install docker-registry, and scripts/run starts it itself)"
                   if opts["registry"] == "missing" else "(or run scripts/run without --no-registry)")
            lines.append(f" {step}. Run a registry wired to Portus {why}:")
            if not Registry.objects.filter(name=LOCAL_REGISTRY).exists():
                lines.append(f"      .venv/bin/python manage.py create_registry --name {LOCAL_REGISTRY} "
                             f"--hostname {addr} --no-ssl --skip-check")
            lines.append("      " + registry_config_command(portus_url=url, registry_addr=addr))
            lines.append("      docker-registry serve var/registry.yml")
            label = RegistryForm.base_fields["use_ssl"].label
            lines.append(f"    (or add it under Admin → Registries: host name {addr}, \"{label}\" unticked,")
            lines.append("    then write its configuration with the registry_config line above.)")
            step += 1
        lines += [
            f" {step}. Log in to the registry with your account and push into your personal namespace:",
            f"      podman login --tls-verify=false {addr}",
            f"      podman tag <image> {addr}/<your user name>/app:latest",
            f"      podman push --tls-verify=false {addr}/<your user name>/app:latest",
            f"    (docker: docker login {addr}, docker tag, docker push: docker takes 127.0.0.1 as plain HTTP.)",
            f"    It shows up at {url}/repositories a moment later.",
            "",
            "Every manage.py command works from this folder, in any shell: it reads the same var/ (database, "
            "keys, secrets).",
        ]
        if opts["registry"] == "started":
            lines += ["A new notification secret for the registry, taken when scripts/run restarts it:",
                      "      " + registry_config_command(portus_url=url, registry_addr=addr)]
        stop = f"kill {opts['pid']}" if opts["pid"] else "kill"
        lines.append(f"Stop with Ctrl-C or `{stop}`: every process started here stops with it.")
        self.stdout.write("\n".join(lines) + "\n")
