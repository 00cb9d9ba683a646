"""The registry client's lean GET/HEAD transport (registries/transport.py), against a real local HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from registries import transport

TIMEOUT = (5.0, 5.0)


class Server:
    """Answers every path by `routes` (path → (status, headers, body)), over HTTP/1.1 keep-alive; counts
    the connections it accepted."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.connections = 0
        self.close_after_each = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                outer.connections += 1
                super().setup()

            def do_GET(self) -> None:
                status, headers, body = outer.routes.get(self.path, (404, {}, b'{"errors":[]}'))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                if outer.close_after_each:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    transport.forget_contexts()
    found = Server()
    yield found
    found.stop()
    transport.forget_contexts()


def _get(url: str, method: str = "GET") -> tuple[int, bytes]:
    response = transport.send(method, url, headers={}, timeout=TIMEOUT, verify=True)
    return response.status_code, b"".join(response.iter_content(1024))


def test_requests_share_one_kept_connection(server):
    server.routes["/v2/a/tags/list"] = (200, {"Content-Type": "application/json"}, b'{"tags":["x"]}')
    for _ in range(5):
        assert _get(server.url + "/v2/a/tags/list") == (200, b'{"tags":["x"]}')
        assert _get(server.url + "/v2/a/tags/list", "HEAD") == (200, b"")
    assert server.connections == 1


def test_an_unread_answer_does_not_block_the_next_request(server):
    server.routes["/small"] = (401, {}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
    server.routes["/large"] = (200, {}, b"x" * (200 * 1024))
    server.routes["/ok"] = (200, {}, b"ok")
    transport.send("GET", server.url + "/small", headers={}, timeout=TIMEOUT, verify=True)  # never read
    assert _get(server.url + "/ok") == (200, b"ok")
    assert server.connections == 1  # a small body is read out, the connection stays
    transport.send("GET", server.url + "/large", headers={}, timeout=TIMEOUT, verify=True).close()
    assert _get(server.url + "/ok") == (200, b"ok")
    assert server.connections == 2  # a large one is not read: that connection is dropped


def test_a_connection_the_server_closed_is_replaced(server):
    server.routes["/ok"] = (200, {}, b"ok")
    server.close_after_each = True
    for _ in range(3):
        assert _get(server.url + "/ok") == (200, b"ok")
    assert server.connections == 3


def test_headers_and_links_read_as_requests_gives_them(server):
    server.routes["/v2/_catalog?n=2"] = (200, {"Docker-Content-Digest": "sha256:abc",
                                              "Link": '</v2/_catalog?last=b&n=2>; rel="next"'}, b"{}")
    response = transport.send("GET", server.url + "/v2/_catalog?n=2", headers={}, timeout=TIMEOUT, verify=True)
    assert response.headers.get("docker-content-digest") == "sha256:abc"
    assert response.links["next"]["url"] == "/v2/_catalog?last=b&n=2"


def test_redirects_are_returned_not_followed(server):
    server.routes["/blob"] = (307, {"Location": "http://elsewhere.invalid/blob"}, b"")
    response = transport.send("GET", server.url + "/blob", headers={"Authorization": "Bearer t"},
                              timeout=TIMEOUT, verify=True)
    assert response.status_code in transport.REDIRECTS


def test_nothing_listening_is_a_transport_error():
    with pytest.raises(transport.TransportError, match="ConnectionRefusedError"):
        transport.send("GET", "http://127.0.0.1:9/v2/", headers={}, timeout=TIMEOUT, verify=True)


@pytest.mark.parametrize("method, url", [("DELETE", "http://127.0.0.1/"), ("GET", "ftp://127.0.0.1/"),
                                         ("GET", "http:///v2/")])
def test_only_get_and_head_over_http_are_sent(method, url):
    with pytest.raises(ValueError):
        transport.send(method, url, headers={}, timeout=TIMEOUT, verify=True)
