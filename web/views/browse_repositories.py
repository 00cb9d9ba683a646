"""Repository pages: the list, one repository with its tags grouped by digest, stars, comments, deletion."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from namespaces import policy
from namespaces.deletion import RegistryRefused, repository_destroy, tag_destroy, tags_sharing_digest
from namespaces.models import Repository, Tag
from namespaces.services import repository_update
from namespaces.social import comment_create, comment_delete, is_starred, star_toggle
from portus.slicing import merged_slice
from web.forms_browse import CommentForm, RepositoryEditForm
from web.views import ui_login_required
from web.views.browse_common import browsable, flash_errors, form_errors_from, paginate, visible_or_404

# The repository delete page names at most this many of the tags that go.
SHOWN_TAGS = 200


def _repositories(user):
    return Repository.objects.visible_to(user).select_related("namespace", "namespace__registry", "namespace__team")


# What a row of a repository list shows; the description and the registry stay out of the sort.
LIST_FIELDS = ("id", "name", "namespace_id", "tags_count", "stars_count", "pushed_at",
               "namespace__name", "namespace__is_global", "namespace__visibility", "namespace__registry_id")


def listed(repositories):
    """Repositories as list rows, by registry, namespace and name: the order of the unique index on
    (registry, namespace name), so a page is read by walking that index instead of sorting every row."""
    return (repositories.select_related("namespace").only(*LIST_FIELDS)
            .order_by("namespace__registry_id", "namespace__name", "name"))


@ui_login_required
def repository_list(request):
    # By namespace and name: the user's grants are read first, so that the list walks the namespaces' index
    # (policy.listed_repositories_q); a grantee's page merges that walk with their few granted repositories.
    user = request.user
    rows = None
    split = policy.split_listed_repositories_q(user)
    if split is not None:
        walked, few = (listed(Repository.objects.filter(q)) for q in split)

        def rows(queryset, start, stop):
            # The rows are read by the keys the two parts gave (the parts filter): the list's shape alone.
            return merged_slice(queryset, walked, few, start, stop, shape=listed(Repository.objects.all()))

    page = paginate(request, listed(Repository.objects.filter(policy.listed_repositories_q(user))), rows=rows)
    return render(request, "repositories/index.html", {"page": page})


@dataclass
class DigestGroup:
    """The tags of one repository that point at one manifest; they share its image id, size and platforms."""

    digest: str
    tags: list[Tag] = field(default_factory=list)
    beside: object = None  # images.artifacts.Beside: the signatures, SBOMs… of this image

    @property
    def image(self) -> Tag:
        return self.tags[0]


def digest_groups(repository: Repository, request, *, param: str = "page"):
    """A page of the repository's digests, newest push first, each with its tags and what sits beside it
    (signatures, SBOMs: not listed as tags of their own): a fixed number of queries."""
    from images.artifacts import beside, ordinary_tags

    digests = (ordinary_tags(Tag.objects.filter(repository=repository)).values("digest")
               .annotate(latest=Max("pushed_at")).order_by(F("latest").desc(nulls_last=True), "digest"))
    page = paginate(request, digests, param=param)
    groups = {row["digest"]: DigestGroup(row["digest"]) for row in page.object_list}
    tags = ordinary_tags(Tag.objects.filter(repository=repository, digest__in=list(groups))).select_related("author")
    reference = repository.pull_reference
    for tag in tags.order_by("name"):
        tag.repository = repository
        tag.pull_command = f"docker pull {reference}:{tag.name}"
        groups[tag.digest].tags.append(tag)
    page.groups = list(groups.values())
    found = beside(repository, list(groups))
    for group in page.groups:
        group.beside = found.get(group.digest)
    return page


@browsable
def repository_detail(request, pk: int):
    repository = visible_or_404(_repositories(request.user), pk=pk)
    user = request.user
    comments = paginate(request, repository.comments.select_related("author").order_by("created_at", "id"),
                        param="comments_page", per_page=20)
    for comment in comments.object_list:
        comment.destroyable = policy.can_destroy_comment(user, comment)
    can_comment = policy.can_comment(user, repository)
    return render(request, "repositories/show.html", {
        "repository": repository,
        "namespace": repository.namespace,
        "tags_page": digest_groups(repository, request),
        "permissions": policy.repository_permissions(user, repository),
        "can_edit": policy.can_edit_repository(user, repository),
        "starred": is_starred(repository=repository, user=user),
        "comments": comments,
        "comment_form": CommentForm() if can_comment else None,
    })


@ui_login_required
@require_POST
def repository_toggle_star(request, pk: int):
    repository = visible_or_404(_repositories(request.user), pk=pk)
    starred = star_toggle(repository=repository, user=request.user)
    messages.success(request, f"{'Starred' if starred else 'Unstarred'} {repository.full_name}.")
    return redirect("repository", pk=repository.pk)


@ui_login_required
@require_POST
def comment_new(request, pk: int):
    repository = visible_or_404(_repositories(request.user), pk=pk)
    if not policy.can_comment(request.user, repository):
        raise PermissionDenied("You cannot comment here.")
    form = CommentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
        return redirect("repository", pk=repository.pk)
    try:
        comment = comment_create(repository=repository, author=request.user, body=form.cleaned_data["body"])
    except ValidationError as error:
        flash_errors(request, error)
        return redirect("repository", pk=repository.pk)
    return redirect(f"{repository_url(repository)}#comment-{comment.pk}")


@ui_login_required
@require_POST
def comment_destroy(request, pk: int, comment_pk: int):
    repository = visible_or_404(_repositories(request.user), pk=pk)
    comment = get_object_or_404(repository.comments, pk=comment_pk)
    comment_delete(comment=comment, by=request.user)  # PermissionDenied → 403
    messages.success(request, "Comment deleted.")
    return redirect(f"{repository_url(repository)}#comments")


def repository_url(repository: Repository) -> str:
    return reverse("repository", kwargs={"pk": repository.pk})


@ui_login_required
@require_http_methods(["GET", "POST"])
def repository_edit(request, pk: int):
    repository = visible_or_404(_repositories(request.user), pk=pk)
    if not policy.can_edit_repository(request.user, repository):
        raise PermissionDenied("Only those who may push here edit the description.")
    form = RepositoryEditForm(request.POST or None, initial={"description": repository.description})
    if request.method == "POST" and form.is_valid():
        try:
            repository_update(repository=repository, by=request.user, description=form.cleaned_data["description"])
        except ValidationError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, "Description saved.")
            return redirect("repository", pk=repository.pk)
    return render(request, "repositories/edit.html", {"repository": repository, "form": form})


def _deletable_repository(request, pk: int) -> Repository:
    repository = visible_or_404(_repositories(request.user), pk=pk)
    if not policy.can_delete_repository(request.user, repository.namespace, repository.name):
        raise PermissionDenied("Deleting images here is not allowed to you.")
    return repository


@ui_login_required
@require_http_methods(["GET", "POST"])
def repository_delete_view(request, pk: int):
    repository = _deletable_repository(request, pk)
    if request.method == "POST":
        name, namespace_pk = repository.full_name, repository.namespace_id
        try:
            repository_destroy(repository=repository, by=request.user)
        except RegistryRefused as error:
            messages.error(request, f"The registry did not delete every image of {name}: {error}")
            return redirect("repository", pk=repository.pk)
        messages.success(request, f"Repository {name} deleted.")
        return redirect("namespace", pk=namespace_pk)
    tags = list(repository.tags.order_by("name").values_list("name", "digest")[:SHOWN_TAGS])
    return render(request, "repositories/delete.html", {
        "repository": repository,
        "tags": tags,
        "more_tags": max(repository.tags_count - len(tags), 0),
        "digests_count": repository.tags.values("digest").distinct().count(),
    })


@ui_login_required
@require_http_methods(["GET", "POST"])
def tag_delete_view(request, pk: int):
    tag = get_object_or_404(Tag.objects.select_related("author"), pk=pk)
    repository = _deletable_repository(request, tag.repository_id)
    tag.repository = repository
    if request.method == "POST":
        try:
            names = tag_destroy(tag=tag, by=request.user)
        except RegistryRefused as error:
            messages.error(request, f"The registry did not delete {repository.full_name}:{tag.name}: {error}")
        else:
            messages.success(request, f"Deleted {repository.full_name}: {', '.join(names)} ({tag.digest}).")
        return redirect("repository", pk=repository.pk)
    sharing = list(tags_sharing_digest(tag).order_by("name"))
    return render(request, "repositories/tag_delete.html", {
        "repository": repository, "tag": tag, "sharing": sharing,
        "pull_reference": repository.pull_reference,
    })
