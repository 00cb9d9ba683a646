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


def _metrics_directory() -> None:
    """Prometheus multiprocess mode: every worker writes its counts to files in one directory, and /metrics
    sums them, whichever worker answers. The master picks the directory before any worker starts (and
    before any imports prometheus_client): PROMETHEUS_MULTIPROC_DIR when set, else a new private one."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portus-metrics-")


_metrics_directory()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server) -> None:
    """A directory given by the operator may hold the files of processes of a previous run: counting them
    again would make every counter jump at restart. Files of live processes (a background process sharing
    the directory, as scripts/run does) stay."""
    import re

    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        match = re.fullmatch(r"[a-z_]+_(\d+)\.db", name)
        if match and not _alive(int(match.group(1))):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker) -> None:
    """A worker that ended (restarted, killed) no longer counts in live gauges; its counters stay summed."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
