"""Writes of image data a user asks for: the trusted cosign keys of a namespace."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from activities.services import activity_record
from images import signatures
from images.models import SigningKey
from namespaces import policy

MAX_KEY_NAME = 100
MAX_KEYS_PER_NAMESPACE = 20


@transaction.atomic
def signing_key_add(*, namespace, name: str, pem: str, by) -> SigningKey:
    if not policy.can_manage_signing_keys(by, namespace):
        raise PermissionDenied("Only those who manage the namespace manage its trusted keys.")
    name = (name or "").strip()
    if not name or len(name) > MAX_KEY_NAME or any(ord(c) < 32 for c in name):
        raise ValidationError({"name": f"Give the key a name of 1 to {MAX_KEY_NAME} printable characters."})
    try:
        key = signatures.load_public_key(pem)
    except signatures.KeyRefused as exc:
        raise ValidationError({"pem": str(exc)}) from exc
    if SigningKey.objects.filter(namespace=namespace).count() >= MAX_KEYS_PER_NAMESPACE:
        raise ValidationError({"pem": f"A namespace trusts at most {MAX_KEYS_PER_NAMESPACE} keys."})
    fingerprint = signatures.fingerprint(key)
    if SigningKey.objects.filter(namespace=namespace, fingerprint=fingerprint).exists():
        raise ValidationError({"pem": "This namespace trusts this key already."})
    if SigningKey.objects.filter(namespace=namespace, name=name).exists():
        raise ValidationError({"name": "Another key of this namespace has this name."})
    try:
        with transaction.atomic():
            created = SigningKey.objects.create(namespace=namespace, name=name, pem=signatures.canonical_pem(key),
                                                fingerprint=fingerprint, created_by=by)
    except IntegrityError as exc:
        raise ValidationError({"pem": "This namespace trusts this key already."}) from exc
    activity_record(key="namespace.signing_key_add", owner=by, target=namespace, namespace=namespace,
                    parameters={"key": name, "fingerprint": fingerprint[:16]})
    return created


@transaction.atomic
def signing_key_remove(*, key: SigningKey, by) -> None:
    namespace = key.namespace
    if not policy.can_manage_signing_keys(by, namespace):
        raise PermissionDenied("Only those who manage the namespace manage its trusted keys.")
    activity_record(key="namespace.signing_key_remove", owner=by, target=namespace, namespace=namespace,
                    parameters={"key": key.name, "fingerprint": key.fingerprint[:16]})
    key.delete()
