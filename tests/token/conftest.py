import pytest

from tests.wsgi_client import WsgiClient


@pytest.fixture(params=["wsgi", "django-test-client"])
def client(request, client):
    """Each token test twice: through the product's WSGI application (the short way, portus/lean.py),
    as gunicorn serves it, and through Django's test handler (the whole stack): the same answers."""
    return WsgiClient() if request.param == "wsgi" else client
