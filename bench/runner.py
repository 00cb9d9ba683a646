"""Processes for the bench: gunicorn serving an app, wrk loading it, and CPU time read from /proc."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from the 3rd on (state, ppid, …)


def process_cpu(pid: int, *, reaped_children: bool = False) -> float:
    """CPU seconds (user + system) of one process; with `reaped_children`, plus those of its children that
    have exited and been waited for (how a PostgreSQL postmaster accounts for its finished backends)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICKS


# /proc/stat's fields for all cores, in its order; `steal` is the time a virtual machine's cores were ready
# to run while the hypervisor ran someone else.
MACHINE_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def machine_ticks() -> dict[str, int]:
    """The machine's CPU ticks so far, by MACHINE_FIELDS (all zero where there is no /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        values = []
    return dict(zip(MACHINE_FIELDS, values + [0] * (len(MACHINE_FIELDS) - len(values)), strict=True))


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry))
    return found


class PostgresCPU:
    """CPU seconds spent by PostgreSQL for one database: its live backends plus every backend that exited
    (the postmaster's reaped children). On a machine where other databases are busy the second part
    counts their exited backends too: run the bench on a quiet machine."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.postmaster = self._postmaster()

    @staticmethod
    def _postmaster() -> int | None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"postgres") and b"-D" in cmd:
                return int(entry)
        return None

    def seconds(self) -> float:
        if self.postmaster is None:
            return 0.0
        total = process_cpu(self.postmaster, reaped_children=True)
        needle = f" {self.database} ".encode()
        for pid in children(self.postmaster):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if needle in title.replace(b"\0", b" ") + b" ":
                total += process_cpu(pid)
        return total


@dataclass
class Server:
    """gunicorn serving `app` under portus/gunicorn.conf.py with `env`."""

    name: str
    app: str
    env: dict
    log_path: Path
    process: subprocess.Popen | None = None
    url: str = ""

    def start(self, probe: str = "/v2/token") -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", self.app, "-c", "portus/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                requests.get(self.url + probe, timeout=1)
                if len(children(self.process.pid)) >= 1:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within 60 s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """The workers' CPU (the master only supervises)."""
        assert self.process is not None
        return sum(process_cpu(pid) for pid in children(self.process.pid))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int
    output: str


def wrk(url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None,
        script: Path | None = None, env: dict | None = None) -> Load:
    """One wrk run: requests and their time, median and 99th percentile latency, and the count of non-2xx answers
    and socket errors (which the caller decides about)."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:g}s", "--latency",
               "--timeout", "30s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                            env=dict(os.environ, **(env or {})))
    text = result.stdout

    def grab(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, text)
        return match.group(1) if match else default

    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    total, elapsed = int(done.group(1)), _ms(done.group(2) + done.group(3)) / 1000
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", grab(r"Socket errors: (.*)", "")))
    return Load(requests=total, seconds=elapsed, p50_ms=_ms(grab(r"50%\s+([\d.]+\w+)", "0ms")),
                p99_ms=_ms(grab(r"99%\s+([\d.]+\w+)", "0ms")),
                failed=int(grab(r"Non-2xx or 3xx responses: (\d+)")) + errors, output=text)
