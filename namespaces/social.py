"""Stars and comments on repositories."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from activities.services import activity_record
from namespaces import policy
from namespaces.models import Comment, Repository, Star

MAX_COMMENT_LENGTH = 10000


@transaction.atomic
def star_toggle(*, repository: Repository, user) -> bool:
    """Stars the repository for `user`, or takes the star back; True when it is starred afterwards."""
    if not policy.is_active(user) or not policy.can_pull_repository(user, repository.namespace, repository.name):
        raise PermissionDenied("You cannot star this repository.")
    removed, _ = Star.objects.filter(repository=repository, user=user).delete()
    if removed:
        Repository.objects.filter(pk=repository.pk, stars_count__gt=0).update(stars_count=F("stars_count") - 1)
        activity_record(key="repository.unstar", owner=user, target=repository, namespace=repository.namespace)
        return False
    try:
        with transaction.atomic():
            Star.objects.create(repository=repository, user=user)
    except IntegrityError:
        return True  # a second click that raced the first
    Repository.objects.filter(pk=repository.pk).update(stars_count=F("stars_count") + 1)
    activity_record(key="repository.star", owner=user, target=repository, namespace=repository.namespace)
    return True


def is_starred(*, repository: Repository, user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Star.objects.filter(repository=repository, user=user).exists()


@transaction.atomic
def comment_create(*, repository: Repository, author, body: str) -> Comment:
    if not policy.can_comment(author, repository):
        raise PermissionDenied("You cannot comment on this repository.")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > MAX_COMMENT_LENGTH:
        raise ValidationError({"body": f"A comment is at most {MAX_COMMENT_LENGTH} characters long."})
    comment = Comment.objects.create(repository=repository, author=author, body=body)
    activity_record(key="comment.create", owner=author, target=repository, namespace=repository.namespace,
                    parameters={"comment_id": comment.pk})
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by) -> None:
    if not policy.can_destroy_comment(by, comment):
        raise PermissionDenied("You cannot delete this comment.")
    repository = comment.repository
    activity_record(key="comment.destroy", owner=by, target=repository, namespace=repository.namespace,
                    parameters={"comment_id": comment.pk})
    comment.delete()
