"""The bench's own data, created in the bench's own database: one user with a password, an application
token and a refresh token, a registry with its notification secret, and a public namespace for anonymous
pulls. Prints what the load generator needs as one JSON line."""

from __future__ import annotations

import json

from accounts.models import User
from accounts.services import application_token_create, refresh_token_create, user_create
from namespaces.models import Namespace, Visibility
from registries.services import registry_create, registry_notification_secret_rotate

USERNAME = "benchuser"
PASSWORD = "bench-password-not-secret"
SERVICE = "registry.bench.test:5000"


def create() -> dict:
    registry = registry_create(name="bench", hostname=SERVICE, use_ssl=False, by=None, check=False)
    secret = registry_notification_secret_rotate(registry=registry, by=None, keep_previous=False).plain
    user = user_create(username=USERNAME, email=None, password=PASSWORD, check_password=False)
    Namespace.objects.filter(registry=registry, name=USERNAME).update(visibility=Visibility.PUBLIC)
    token, plain = application_token_create(user=user, application="bench", by=user)
    refresh = refresh_token_create(user=user, registry=registry, client_id="bench", application_token=token)
    return {
        "service": SERVICE,
        "username": USERNAME,
        "password": PASSWORD,
        "application_token": plain,
        "refresh_token": refresh,
        "notification_secret": secret,
        "repository": f"{USERNAME}/app",
        "users": User.objects.count(),
    }


def main() -> None:
    print("BENCH-FIXTURE " + json.dumps(create()))
