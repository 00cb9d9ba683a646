"""A TCP proxy on 127.0.0.1 that limits bandwidth: a slow link between a client and the registry.

Standard library only. ``ThrottlingProxy(target_port, upload_bytes_per_second=…)`` listens on a free
port and forwards every connection to ``127.0.0.1:target_port``; what clients send (an image push) shares
one budget of ``upload_bytes_per_second`` across all connections, like one slow uplink, and what comes
back is not limited unless ``download_bytes_per_second`` is given. HTTP passes through untouched (the
``Host`` header names the proxy, so the registry's upload URLs lead back through it).
"""

from __future__ import annotations

import socket
import threading
import time

from tests.e2e.support.services import LOOPBACK

_CHUNK = 16 * 1024


class _Budget:
    """A shared byte budget refilled at ``rate`` bytes per second (a token bucket of one second)."""

    def __init__(self, rate: int) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1 byte per second")
        self.rate = rate
        self._lock = threading.Lock()
        self._next_free = time.monotonic()

    def chunk(self) -> int:
        return max(1, min(_CHUNK, self.rate // 20))

    def spend(self, size: int) -> None:
        """Blocks until ``size`` bytes may pass."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_free)
            self._next_free = start + size / self.rate
            wait = start - now
        if wait > 0:
            time.sleep(wait)


class ThrottlingProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port`` at a limited rate. ``stop()`` closes it."""

    def __init__(self, target_port: int, *, upload_bytes_per_second: int,
                 download_bytes_per_second: int | None = None) -> None:
        self.target = (LOOPBACK, target_port)
        self.upload = _Budget(upload_bytes_per_second)
        self.download = _Budget(download_bytes_per_second) if download_bytes_per_second else None
        self.bytes_up = 0
        self.bytes_down = 0
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._accepter = threading.Thread(target=self._accept, name="throttle-accept", daemon=True)
        self._accepter.start()

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference through the slow link."""
        return f"{LOOPBACK}:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._connection, args=(client, upstream), daemon=True).start()

    def _connection(self, client: socket.socket, upstream: socket.socket) -> None:
        answers = threading.Thread(target=self._pump, args=(upstream, client, self.download, "down"), daemon=True)
        answers.start()
        self._pump(client, upstream, self.upload, "up")
        answers.join()
        with self._lock:
            self._sockets.difference_update((client, upstream))
        client.close()
        upstream.close()

    def _pump(self, source: socket.socket, sink: socket.socket, budget: _Budget | None, direction: str) -> None:
        size = budget.chunk() if budget else _CHUNK
        clean = False
        try:
            while True:
                data = source.recv(size)
                if not data:
                    clean = True
                    break
                if budget:
                    budget.spend(len(data))
                sink.sendall(data)
                with self._lock:
                    if direction == "up":
                        self.bytes_up += len(data)
                    else:
                        self.bytes_down += len(data)
        except OSError:
            pass
        # An end of stream is passed on (the other direction may still carry the answer); an error ends both.
        for s, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)) if clean else (
                (sink, socket.SHUT_RDWR), (source, socket.SHUT_RDWR)):
            try:
                s.shutdown(how)
            except OSError:
                pass

    def stop(self) -> None:
        """Closes the listener and every forwarded connection. Idempotent."""
        self._stopped.set()
        self._listener.close()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for s in sockets:
            s.close()
        self._accepter.join(5)

    def __enter__(self) -> ThrottlingProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
