"""Benchmark of server-side rendering: every browsing page (and the dashboard and admin pages) per actor."""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone

from accounts.models import User
from activities.models import Activity
from namespaces.models import Namespace, Repository, Tag
from portus.options import option
from teams.models import Team, TeamMember


class Command(BaseCommand):
    help = ("Time the rendering of the browsing pages (and the dashboard and admin pages, where they exist) "
            "through Django's test client, as an admin, a team member and an anonymous visitor: median and "
            "95th percentile in ms, and queries per page. Runs against the configured database; seeds it with "
            "seed_demo first when it holds fewer repositories than --repositories. Static files must resolve: "
            "run collectstatic first, or set PORTUS_PLAIN_STATIC=1. Prints figures; asserts nothing.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--repositories", type=int, default=10_000)
        parser.add_argument("--tags", type=int, default=100_000)
        parser.add_argument("--activities", type=int, default=0, help="activity rows to seed (seed_demo)")
        parser.add_argument("--only", default="", help="time only the pages whose label holds this text")
        parser.add_argument("--runs", type=int, default=20, help="timed requests per page and actor")
        parser.add_argument("--warmup", type=int, default=2)

    def handle(self, *args, **opts) -> None:
        # A refused request is an expected answer here, not a warning worth a traceback per run.
        logging.getLogger("django.request").setLevel(logging.ERROR)
        if Repository.objects.count() < opts["repositories"]:
            self.stdout.write(f"Seeding {opts['repositories']} repositories and {opts['tags']} tags…")
            call_command("seed_demo", repositories=opts["repositories"], tags=opts["tags"],
                         activities=opts["activities"], stdout=self.stdout)
        actors = self._actors()
        self.stdout.write(
            f"{connection.vendor}: {Repository.objects.count()} repositories, "
            f"{Repository.objects.aggregate(n=Count('tags'))['n']} tags, {Namespace.objects.count()} namespaces, "
            f"{Team.objects.count()} teams, {User.objects.count()} users, "
            f"{Activity.objects.order_by().count()} activities; per_page "
            f"{option('pagination.per_page')}; {opts['runs']} runs per page.\n"
        )
        self.stdout.write(f"{'page':<46} {'actor':<9} {'status':>6} {'median':>8} {'p95':>8} {'CPU':>8} "
                          f"{'queries':>8}   (ms; CPU: mean per request, web and database)")
        slowest = 0.0
        for actor, user in actors.items():
            client = self._client(user)
            for label, url in self._pages(user):
                if opts["only"] and opts["only"] not in label:
                    continue
                status, median, p95, cpu, queries = self._measure(client, url, opts["runs"], opts["warmup"])
                slowest = max(slowest, p95)
                self.stdout.write(f"{label:<46} {actor:<9} {status:>6} {median:>7.1f}  {p95:>7.1f}  {cpu:>7.1f}  "
                                  f"{queries:>7}")
        self.stdout.write(f"\nSlowest p95: {slowest:.1f} ms.")

    def _actors(self) -> dict[str, User | None]:
        admin = User.objects.filter(admin=True, enabled=True, bot=False).exclude(
            username=User.INTERNAL_USERNAME).order_by("id").first()
        busiest = (TeamMember.objects.filter(team__hidden=False, user__admin=False, user__bot=False)
                   .values("user_id").annotate(n=Count("team__namespaces")).order_by("-n").first())
        if admin is None or busiest is None:
            raise CommandError("Needs an admin and a team member: run seed_demo first.")
        return {"admin": admin, "member": User.objects.get(pk=busiest["user_id"]), "anonymous": None}

    def _client(self, user) -> Client:
        host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost").lstrip(".")
        client = Client(HTTP_HOST=host)
        if user is not None:
            client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return client

    def _pages(self, user) -> list[tuple[str, str]]:
        """(label, url) of each page worth timing for this actor; the heaviest object of each kind."""
        visible = Repository.objects.visible_to(user)
        biggest_repository = visible.order_by("-tags_count").first()
        fullest_namespace = (Namespace.objects.visible_to(user).annotate(n=Count("repositories"))
                             .order_by("-n").first())
        team = (Team.objects.visible_to(user).annotate(n=Count("members")).order_by("-n").first()
                if user is not None else None)
        last_page = max(1, -(-visible.count() // option("pagination.per_page")))
        pages = [
            ("/namespaces", "/namespaces"),
            ("/namespaces/<fullest>", f"/namespaces/{fullest_namespace.pk}" if fullest_namespace else None),
            ("/teams", "/teams"),
            ("/teams/<largest>", f"/teams/{team.pk}" if team else None),
            ("/repositories", "/repositories"),
            ("/repositories?page=<last>", f"/repositories?page={last_page}"),
            ("/repositories/<most tags>",
             f"/repositories/{biggest_repository.pk}" if biggest_repository else None),
            ("/search?q=api", "/search?q=api"),
            ("/search?q=a (broad)", "/search?q=a"),
            ("/explore", "/explore"),
            ("/explore?page=<deep>", "/explore?page=50"),
            ("/ (dashboard)", "/"),
        ]
        if biggest_repository:
            pages.append(("/repositories/<most tags>?page=<last>",
                          f"/repositories/{biggest_repository.pk}?page={max(1, biggest_repository.tags_count // 30)}"))
        pages += self._activity_pages(user)
        for name in ("admin-status", "admin-users", "admin-registries", "admin-activities"):
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            if user is not None and user.admin:
                pages.append((f"{url} (admin)", url))
        if user is not None and user.admin:
            pages += [
                ("/admin/activities?key=tag.delete", "/admin/activities?key=tag.delete"),
                ("/admin/activities?user=<someone>", f"/admin/activities?user={user.username}"),
                ("/admin/activities.csv (first rows)", "/admin/activities.csv"),
                ("/admin/activities.csv?<one day>", "/admin/activities.csv?since=" + self._busy_day()
                 + "&until=" + self._busy_day()),
            ]
        pages += self._api_pages(user, biggest_repository, fullest_namespace, team)
        anonymous_pages = {"/namespaces/<fullest>", "/repositories/<most tags>", "/search?q=api",
                           "/search?q=a (broad)", "/explore", "/explore?page=<deep>", "/api/v1/repositories",
                           "/api/v1/namespaces", "/api/v1/repositories/<most tags>/tags"}
        return [(label, url) for label, url in pages if url and self._exists(url)
                and (user is not None or label in anonymous_pages)]

    @staticmethod
    def _busy_day() -> str:
        newest = Activity.objects.order_by("-created_at").values_list("created_at", flat=True).first()
        return (newest or timezone.now()).date().isoformat()

    @staticmethod
    def _activity_pages(user) -> list[tuple[str, str]]:
        """The dashboard's log, a page deep in it (by cursor), and the admins' log at the same depth."""
        if user is None:
            return []
        from web.views import encode_cursor

        visible = Activity.objects.visible_to(user)
        depth = min(10_000, visible.order_by().values("pk")[:10_001].count() // 2)
        deep = visible.order_by("-created_at", "-id")[depth : depth + 1].first()
        if deep is None:
            return []
        cursor = encode_cursor(deep)
        pages = [(f"/?before=<{depth:,} rows deep>", f"/?before={cursor}")]
        if user.admin:
            pages.append((f"/admin/activities?before=<{depth:,} deep>", f"/admin/activities?before={cursor}"))
        return pages

    @staticmethod
    def _api_pages(user, repository, namespace, team) -> list[tuple[str, str]]:
        pages = [
            ("/api/v1/repositories", "/api/v1/repositories"),
            ("/api/v1/repositories?page=<last>", "/api/v1/repositories?page=<last>"),
            ("/api/v1/namespaces", "/api/v1/namespaces"),
            ("/api/v1/teams", "/api/v1/teams"),
            ("/api/v1/users", "/api/v1/users"),
            ("/api/v1/tags", "/api/v1/tags"),
            ("/api/v1/tags?page=<last>", "/api/v1/tags?page=<last tags>"),
            ("/api/v1/namespaces/retired", "/api/v1/namespaces/retired"),
            ("/api/v1/registries", "/api/v1/registries"),
            ("/api/v1/robots", "/api/v1/robots"),
        ]
        if user is not None:
            pages += [("/api/v1/users/<self>/application_tokens", f"/api/v1/users/{user.pk}/application_tokens"),
                      ("/api/v1/users/<self>/refresh_tokens", f"/api/v1/users/{user.pk}/refresh_tokens")]
        if repository:
            pages += [("/api/v1/repositories/<most tags>/tags", f"/api/v1/repositories/{repository.pk}/tags"),
                      ("/api/v1/repositories/<most tags>/comments",
                       f"/api/v1/repositories/{repository.pk}/comments"),
                      ("/api/v1/repositories/<most tags>/tags/grouped",
                       f"/api/v1/repositories/{repository.pk}/tags/grouped"),
                      ("/api/v1/repositories/<most tags>", f"/api/v1/repositories/{repository.pk}")]
        if namespace:
            pages += [("/api/v1/namespaces/<fullest>/repositories", f"/api/v1/namespaces/{namespace.pk}/repositories"),
                      ("/api/v1/namespaces/<fullest>/grants", f"/api/v1/namespaces/{namespace.pk}/grants"),
                      ("/api/v1/namespaces/<fullest>/webhooks", f"/api/v1/namespaces/{namespace.pk}/webhooks")]
        if team:
            pages += [("/api/v1/teams/<largest>/members", f"/api/v1/teams/{team.pk}/members"),
                      ("/api/v1/teams/<largest>/namespaces", f"/api/v1/teams/{team.pk}/namespaces")]
        from api.pagination import COUNT_CAP, DEFAULT_PER_PAGE

        listed = min(COUNT_CAP, Repository.objects.visible_to(user).order_by().values("pk")[: COUNT_CAP + 1].count())
        last = max(1, -(-listed // DEFAULT_PER_PAGE))  # the deepest page the API serves
        tags = min(COUNT_CAP, Tag.objects.order_by().values("pk")[: COUNT_CAP + 1].count())
        last_tags = max(1, -(-tags // DEFAULT_PER_PAGE))
        return [(label, url.replace("<last tags>", str(last_tags)).replace("<last>", str(last)))
                for label, url in pages]

    @staticmethod
    def _exists(url: str) -> bool:
        try:
            resolve(url.split("?")[0])
        except Resolver404:
            return False
        return True

    @staticmethod
    def _measure(client: Client, url: str, runs: int, warmup: int) -> tuple[int, float, float, int]:
        def get():
            response = client.get(url)
            if response.streaming:
                # A CSV export: the time to its first rows (what the browser waits for before the download
                # starts), unless it ends sooner; the rest streams at the network's pace.
                chunks = iter(response.streaming_content)
                received = 0
                for chunk in chunks:
                    received += len(chunk)
                    if received > 256 * 1024:
                        break
                # Not response.close(): the test client closes it when the iterator goes, with the
                # connection-closing signal held off (this process keeps one connection throughout).
                del chunks
            return response

        for _ in range(warmup):
            get()
        timings = []
        cpu_before = time.process_time() + _database_cpu()
        for _ in range(runs):
            started = time.perf_counter()
            response = get()
            timings.append((time.perf_counter() - started) * 1000)
        cpu = (time.process_time() + _database_cpu() - cpu_before) * 1000 / runs
        with CaptureQueriesContext(connection) as queries:
            get()
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        return response.status_code, statistics.median(timings), p95, cpu, len(queries)


def _database_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far (0 elsewhere, where it runs in process)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
