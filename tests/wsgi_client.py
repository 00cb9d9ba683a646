"""A test client that goes through the product's own WSGI application (portus.wsgi.application), as
gunicorn does, instead of Django's test handler: what the short way through (portus/lean.py) answers."""

from __future__ import annotations

import json
from io import BytesIO

from django.test import RequestFactory


class WsgiResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = int(status.split(" ", 1)[0])
        self.reason_phrase = status.split(" ", 1)[1]
        self.headers = {name.lower(): value for name, value in headers}
        self.header_list = headers
        self.content = body

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers

    def json(self):
        return json.loads(self.content)


class WsgiClient:
    """`get`, `post`, `put`, `patch`, `delete` like django.test.Client's, answered by portus.wsgi.application."""

    def __init__(self) -> None:
        self.factory = RequestFactory()

    def _call(self, request) -> WsgiResponse:
        from portus.wsgi import application

        environ = dict(request.environ)
        body = request.read() if request.method in ("POST", "PUT", "PATCH", "DELETE") else b""
        environ["wsgi.input"] = BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        chunks = application(environ, start_response)
        return WsgiResponse(captured["status"], captured["headers"], b"".join(chunks))

    def post(self, path: str, data=b"", content_type: str = "application/octet-stream", **extra) -> WsgiResponse:
        return self._call(self.factory.post(path, data=data, content_type=content_type, **extra))

    def get(self, path: str, data=None, **extra) -> WsgiResponse:
        return self._call(self.factory.get(path, data=data, **extra))

    def put(self, path: str, data=b"", content_type: str = "application/octet-stream", **extra) -> WsgiResponse:
        return self._call(self.factory.put(path, data=data, content_type=content_type, **extra))

    def patch(self, path: str, data=b"", content_type: str = "application/octet-stream", **extra) -> WsgiResponse:
        return self._call(self.factory.patch(path, data=data, content_type=content_type, **extra))

    def delete(self, path: str, data=b"", content_type: str = "application/octet-stream", **extra) -> WsgiResponse:
        return self._call(self.factory.delete(path, data=data, content_type=content_type, **extra))
