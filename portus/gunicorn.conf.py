"""gunicorn settings: several workers with threads, so a slow request never blocks the token realm."""

import multiprocessing
import os
import secrets
import sys

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# Never log query strings or headers that could carry credentials.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
preload_app = False
# Who may say, in X-Forwarded-Proto, that a request came over HTTPS (comma-separated addresses or
# networks): the TLS proxy only. From anyone else gunicorn ignores the header.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _share_an_ephemeral_secret() -> None:
    """Without a configured secret key (a try-out with PORTUS_ALLOW_EPHEMERAL_SECRET, or debug mode), each
    worker would make up its own random key, and a session signed by one worker would fail on the next:
    the master makes one here and the workers inherit it through the environment."""
    if "PORTUS_SECRET_KEY_BASE" in os.environ:
        return
    from portus import config

    try:
        tree = config.load()
    except config.ConfigError:
        return  # every worker will say what is wrong
    if tree["secrets"]["secret_key_base"]:
        return
    if os.environ.get("PORTUS_ALLOW_EPHEMERAL_SECRET") or tree["debug"]["enabled"]:
        os.environ["PORTUS_SECRET_KEY_BASE"] = secrets.token_urlsafe(50)
        print("portus: no secrets.secret_key_base: the workers share a random key until gunicorn stops",
              file=sys.stderr)


_share_an_ephemeral_secret()
