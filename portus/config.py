"""Reads config/config.yml, config/config-local.yml and PORTUS_* variables into one typed tree."""

from __future__ import annotations

import copy
import os
import re
import ssl
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("PORTUS_CONFIG_DIR", BASE_DIR / "config"))

# Names from Portus's documentation that do not follow the nested PORTUS_<SECTION>_<KEY> form.
ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "PORTUS_SECRET_KEY_BASE": ("secrets", "secret_key_base"),
    "PORTUS_KEY_PATH": ("secrets", "key_path"),
    "PORTUS_CERTIFICATE_PATH": ("secrets", "certificate_path"),
    "PORTUS_PASSWORD": ("secrets", "portus_password"),
    "PORTUS_WEBHOOK_SECRET": ("secrets", "webhook_secret"),
    "PORTUS_JWT_EXPIRATION_TIME": ("registry", "jwt_expiration_time", "value"),
    "PORTUS_DEBUG": ("debug", "enabled"),
}
# Leaves that may be named without their last key (PORTUS_MACHINE_FQDN for machine_fqdn.value).
_IMPLIED_LEAVES = ("value", "enabled", "policy")
# Variables that start with PORTUS_ but are not options.
_NOT_OPTIONS = {
    "PORTUS_CONFIG_DIR", "PORTUS_URL", "PORTUS_FAST_PASSWORD_HASHER", "PORTUS_PLAIN_STATIC",
    "PORTUS_ALLOW_EPHEMERAL_SECRET", "PORTUS_BEHIND_TLS_PROXY", "PORTUS_CSRF_TRUSTED_ORIGINS",
    "PORTUS_LOG_LEVEL", "PORTUS_VAR_DIR",
}


# What a local run (scripts/run) keeps in var/, one value per file named for its option. They are defaults
# below config-local.yml and the environment, so that every command started from the project's folder, in
# any shell, uses the same secrets and issuer as the server it started.
VAR_FILES: dict[str, tuple[str, ...]] = {
    "secret_key_base": ("secrets", "secret_key_base"),
    "portus_password": ("secrets", "portus_password"),
    "webhook_secret": ("secrets", "webhook_secret"),  # legacy: made by earlier versions of scripts/run
    "machine_fqdn": ("machine_fqdn", "value"),
}
_MAX_VAR_FILE_BYTES = 4096


def default_var_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where a local run keeps its database, keys and generated secrets (PORTUS_VAR_DIR, else var/)."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("PORTUS_VAR_DIR") or BASE_DIR / "var")


def _var_values(var_dir: Path) -> dict[tuple[str, ...], str]:
    values = {}
    for name, path in VAR_FILES.items():
        file = var_dir / name
        try:
            with file.open("rb") as f:
                data = f.read(_MAX_VAR_FILE_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise ConfigError(f"{'.'.join(path)}: cannot read {file}: {exc.strerror}") from None
        if len(data) > _MAX_VAR_FILE_BYTES:
            raise ConfigError(f"{'.'.join(path)}: {file} is larger than {_MAX_VAR_FILE_BYTES} bytes")
        text = data.decode("utf-8", "replace").strip()
        if text:
            values[path] = text
    return values


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the option."""


def _parse_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "yes", "on", "1"}:
        return True
    if text in {"false", "no", "off", "0"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _coerce(name: str, default: Any, raw: Any) -> Any:
    """Converts `raw` to the type of the option's default, refusing nonsense."""
    if isinstance(default, bool):
        return _parse_bool(name, raw)
    if isinstance(default, int):
        if isinstance(raw, bool):
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}")
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(str(raw).strip())
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if isinstance(default, str):
        if isinstance(raw, dict | list):
            raise ConfigError(f"{name}: expected text, got {raw!r}")
        return "" if raw is None else str(raw)
    raise ConfigError(f"{name}: cannot be set")


def _merge(defaults: dict, override: Mapping, path: tuple[str, ...] = ()) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in override.items():
        here = (*path, str(key))
        dotted = ".".join(here)
        if key not in defaults:
            raise ConfigError(f"{dotted}: unknown option")
        if isinstance(defaults[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{dotted}: expected a section, got {value!r}")
            out[key] = _merge(defaults[key], value, here)
        else:
            out[key] = _coerce(dotted, defaults[key], value)
    return out


def _leaves(tree: dict, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in tree.items():
        if isinstance(value, dict):
            found.extend(_leaves(value, (*path, key)))
        else:
            found.append((*path, key))
    return found


def env_names(tree: dict) -> dict[str, tuple[str, ...]]:
    """Every accepted environment variable name and the option it sets."""
    names: dict[str, tuple[str, ...]] = {}
    for leaf in _leaves(tree):
        names["PORTUS_" + "_".join(leaf).upper()] = leaf
        if leaf[-1] in _IMPLIED_LEAVES and len(leaf) > 1:
            parent = tree
            for key in leaf[:-2]:
                parent = parent[key]
            if len(parent[leaf[-2]]) == 1:
                names.setdefault("PORTUS_" + "_".join(leaf[:-1]).upper(), leaf)
    names.update(ENV_ALIASES)
    return names


def _set(tree: dict, path: tuple[str, ...], raw: Any) -> None:
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = _coerce(".".join(path), node[path[-1]], raw)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of options")
    return data


def load(config_dir: Path = CONFIG_DIR, environ: Mapping[str, str] | None = None,
         var_dir: Path | None = None) -> dict:
    """The effective configuration: defaults, then the files of a local run in `var_dir` (default:
    PORTUS_VAR_DIR, else var/, for the process's own environment; none for an `environ` given without
    PORTUS_VAR_DIR), then config-local.yml, then the environment."""
    if var_dir is None and (environ is None or environ.get("PORTUS_VAR_DIR")):
        var_dir = default_var_dir(environ)
    environ = os.environ if environ is None else environ
    defaults = _read_yaml(config_dir / "config.yml")
    tree = copy.deepcopy(defaults)
    if var_dir is not None:
        for path, raw in _var_values(var_dir).items():
            _set(tree, path, raw)
    local = config_dir / "config-local.yml"
    if local.exists():
        tree = _merge(tree, _read_yaml(local))
    names = env_names(defaults)
    for name, raw in environ.items():
        if not name.startswith("PORTUS_") or name in _NOT_OPTIONS:
            continue
        if name not in names:
            # Portus's own deployments set variables this service has no use for (PORTUS_DB_*, …):
            # say so, but do not refuse to start.
            print(f"portus: ignoring {name}: not an option (see config/config.yml)", file=sys.stderr)
            continue
        _set(tree, names[name], raw)
    if tree["ldap"]["enabled"]:
        tree["signup"]["enabled"] = False  # as Portus: with LDAP, accounts come from the directory
    _validate(tree)
    return tree


def _validate(tree: dict) -> None:
    policy = tree["user_permission"]["push_images"]["policy"]
    if policy not in {"allow-teams", "allow-personal", "admin-only"}:
        raise ConfigError(
            f"user_permission.push_images.policy: expected allow-teams, allow-personal or admin-only, "
            f"got {policy!r}"
        )
    strategy = tree["background"]["sync"]["strategy"]
    if strategy not in {"initial", "update", "update-delete", "on-start"}:
        raise ConfigError(
            f"background.sync.strategy: expected initial, update, update-delete or on-start, got {strategy!r}"
        )
    sync = tree["background"]["sync"]
    if not 0 <= sync["max_removal_share"] <= 1:
        raise ConfigError(f"background.sync.max_removal_share: expected 0 to 1, got {sync['max_removal_share']}")
    if sync["removal_floor"] < 0:
        raise ConfigError("background.sync.removal_floor: must not be negative")
    if not 1 <= sync["concurrency"] <= 32:
        raise ConfigError(f"background.sync.concurrency: expected 1 to 32, got {sync['concurrency']}")
    _validate_ldap(tree["ldap"])
    minutes = tree["registry"]["jwt_expiration_time"]["value"]
    if not 1 <= minutes <= 24 * 60:
        raise ConfigError(f"registry.jwt_expiration_time.value: expected 1 to 1440 minutes, got {minutes}")
    push_minutes = tree["registry"]["jwt_expiration_time_push"]["value"]
    if push_minutes and not minutes <= push_minutes <= 24 * 60:
        raise ConfigError(f"registry.jwt_expiration_time_push.value: expected 0 (as jwt_expiration_time) or "
                          f"{minutes} to 1440 minutes, got {push_minutes}")
    idle, lifetime = tree["refresh_tokens"]["idle_days"], tree["refresh_tokens"]["max_lifetime_days"]
    if not 1 <= idle <= 3650:
        raise ConfigError(f"refresh_tokens.idle_days: expected 1 to 3650 days, got {idle}")
    if not 0 <= lifetime <= 36500:
        raise ConfigError(f"refresh_tokens.max_lifetime_days: expected 0 (no limit) to 36500 days, got {lifetime}")
    if tree["two_factor"]["required"] not in {"", "admins", "everyone"}:
        raise ConfigError(f"two_factor.required: expected \"\" (nobody), admins or everyone, got "
                          f"{tree['two_factor']['required']!r}")
    rp_id = tree["two_factor"]["webauthn"]["rp_id"].strip()
    if rp_id and (len(rp_id) > 253 or "/" in rp_id or ":" in rp_id or " " in rp_id):
        raise ConfigError(f"two_factor.webauthn.rp_id: expected a host name, got {rp_id!r}")
    if not 0 <= tree["token_realm"]["generation_max_age_ms"] <= 1000:
        raise ConfigError(f"token_realm.generation_max_age_ms: expected 0 to 1000 milliseconds, got "
                          f"{tree['token_realm']['generation_max_age_ms']}")
    if tree["health"]["max_inbox_lag"] < 1:
        raise ConfigError("health.max_inbox_lag: must be at least 1 second")
    if len(tree["metrics"]["token"]) > 512:
        raise ConfigError("metrics.token: at most 512 characters")
    if tree["pagination"]["max_per_page"] < 1:
        raise ConfigError("pagination.max_per_page: must be at least 1")
    if tree["lockout"]["max_attempts"] < 1:
        raise ConfigError("lockout.max_attempts: must be at least 1")
    if not tree["machine_fqdn"]["value"].strip():
        raise ConfigError("machine_fqdn.value: must not be empty")
    _validate_ca_file(tree["registry"]["ca_file"]["value"])
    _validate_webhooks(tree["webhooks"])
    _validate_federation(tree)


def _validate_webhooks(hooks: dict) -> None:
    import ipaddress

    if not 1 <= hooks["timeout"] <= 60:
        raise ConfigError(f"webhooks.timeout: expected 1 to 60 seconds, got {hooks['timeout']}")
    if not 1 <= hooks["max_attempts"] <= 20:
        raise ConfigError(f"webhooks.max_attempts: expected 1 to 20, got {hooks['max_attempts']}")
    if not 1 <= hooks["backoff_seconds"] <= 3600:
        raise ConfigError(f"webhooks.backoff_seconds: expected 1 to 3600, got {hooks['backoff_seconds']}")
    if hooks["deliveries_kept_days"] < 1 or hooks["deliveries_kept_per_webhook"] < 1:
        raise ConfigError("webhooks.deliveries_kept_days and deliveries_kept_per_webhook: at least 1")
    for item in (part.strip() for part in hooks["allowed_private_networks"].split(",")):
        if item:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"webhooks.allowed_private_networks: {item!r} is not an address or network"
                                  ) from None


def _is_issuer_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (a provider run for tests or on the same host)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname or parts.query or parts.fragment or len(url) > 500:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


def _validate_federation(tree: dict) -> None:
    oidc = tree["oauth"]["openid_connect"]
    if oidc["enabled"] and not _is_issuer_url(oidc["issuer"].strip()):
        raise ConfigError(f"oauth.openid_connect.issuer: expected an https:// URL, got {oidc['issuer']!r}")
    for name, key in (("openid_connect", "identifier"), ("github", "client_id"), ("gitlab", "application_id"),
                      ("google_oauth2", "id")):
        if tree["oauth"][name]["enabled"] and not tree["oauth"][name][key].strip():
            raise ConfigError(f"oauth.{name}.{key}: must be set when oauth.{name} is enabled")
    keyless = tree["keyless"]
    for issuer in filter(None, (i.strip() for i in keyless["issuers"].split(","))):
        if not _is_issuer_url(issuer):
            raise ConfigError(f"keyless.issuers: expected https:// URLs, got {issuer!r}")
    if not 0 <= keyless["leeway_seconds"] <= 300:
        raise ConfigError(f"keyless.leeway_seconds: expected 0 to 300, got {keyless['leeway_seconds']}")
    if not 10 <= keyless["jwks_cache_seconds"] <= 86400:
        raise ConfigError(f"keyless.jwks_cache_seconds: expected 10 to 86400, got {keyless['jwks_cache_seconds']}")
    if not 1 <= keyless["jwks_refetch_seconds"] <= 3600:
        raise ConfigError(f"keyless.jwks_refetch_seconds: expected 1 to 3600, got {keyless['jwks_refetch_seconds']}")


_MAX_CA_FILE_BYTES = 16 * 1024 * 1024
_LDAP_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")


def _validate_ldap(ldap: dict) -> None:
    """The `ldap` section: checked always where a wrong value cannot wait (the role), and when LDAP is
    enabled for what only a directory needs (a default config names no real server)."""
    role = ldap["group_sync"]["default_role"]
    if role not in {"viewer", "contributor", "owner"}:
        raise ConfigError(f"ldap.group_sync.default_role: expected viewer, contributor or owner, got {role!r}")
    method = ldap["encryption"]["method"]
    if method not in {"", "start_tls", "simple_tls"}:
        raise ConfigError(f"ldap.encryption.method: expected \"\", start_tls or simple_tls, got {method!r}")
    if not 0 <= ldap["credential_cache"]["seconds"] <= 3600:
        raise ConfigError("ldap.credential_cache.seconds: expected 0 to 3600")
    if not 10 <= ldap["group_sync"]["interval"] <= 7 * 24 * 3600:
        raise ConfigError("ldap.group_sync.interval: expected 10 seconds to a week")
    if not ldap["enabled"]:
        return
    if not ldap["hostname"].strip():
        raise ConfigError("ldap.hostname: must not be empty")
    if not 1 <= ldap["port"] <= 65535:
        raise ConfigError(f"ldap.port: expected 1 to 65535, got {ldap['port']}")
    if not 1 <= ldap["timeout"] <= 300:
        raise ConfigError(f"ldap.timeout: expected 1 to 300 seconds, got {ldap['timeout']}")
    if not ldap["base"].strip():
        raise ConfigError("ldap.base: must name where users are searched")
    for name in ("uid",):
        if not _LDAP_ATTRIBUTE.fullmatch(ldap[name]):
            raise ConfigError(f"ldap.{name}: expected an attribute name, got {ldap[name]!r}")
    attr = ldap["guess_email"]["attr"]
    if attr and not _LDAP_ATTRIBUTE.fullmatch(attr):
        raise ConfigError(f"ldap.guess_email.attr: expected an attribute name, got {attr!r}")
    extra = ldap["filter"].strip()
    if extra and (extra.count("(") != extra.count(")") or "\x00" in extra or len(extra) > 4096):
        raise ConfigError(f"ldap.filter: not an LDAP filter: {extra!r}")
    if ldap["authentication"]["enabled"] and not ldap["authentication"]["bind_dn"].strip():
        raise ConfigError("ldap.authentication.bind_dn: must be set when ldap.authentication is enabled")
    ca_file = ldap["encryption"]["ca_file"]
    if ca_file.strip():
        _validate_ca_file(ca_file, name="ldap.encryption.ca_file")




def _validate_ca_file(raw: str, *, name: str = "registry.ca_file.value") -> None:
    """registry.ca_file, when set, must be a PEM bundle that TLS can load: a wrong path would otherwise
    only show as every registry call failing verification."""
    if not raw.strip():
        return
    path = Path(raw) if Path(raw).is_absolute() else BASE_DIR / raw
    if not path.is_file():
        raise ConfigError(f"{name}: no file at {path}")
    if path.stat().st_size > _MAX_CA_FILE_BYTES:
        raise ConfigError(f"{name}: {path} is larger than {_MAX_CA_FILE_BYTES} bytes: not a CA bundle")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"{name}: {path} is not a readable PEM file of CA certificates ({exc})") from None


class Options:
    """Dotted, read-only access to the loaded tree: `options.get("delete.enabled")`."""

    def __init__(self, tree: dict) -> None:
        self._tree = tree

    def get(self, dotted: str) -> Any:
        node: Any = self._tree
        for key in dotted.split("."):
            node = node[key]
        return node

    def enabled(self, section: str) -> bool:
        return bool(self.get(f"{section}.enabled"))

    @property
    def tree(self) -> dict:
        return copy.deepcopy(self._tree)
