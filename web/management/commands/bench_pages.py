"""Benchmark of server-side rendering: every browsing page (and the dashboard and admin pages) per actor."""

from __future__ import annotations

import logging
import statistics
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from accounts.models import User
from namespaces.models import Namespace, Repository
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
        parser.add_argument("--runs", type=int, default=20, help="timed requests per page and actor")
        parser.add_argument("--warmup", type=int, default=2)

    def handle(self, *args, **opts) -> None:
        # A refused request is an expected answer here, not a warning worth a traceback per run.
        logging.getLogger("django.request").setLevel(logging.ERROR)
        if Repository.objects.count() < opts["repositories"]:
            self.stdout.write(f"Seeding {opts['repositories']} repositories and {opts['tags']} tags…")
            call_command("seed_demo", repositories=opts["repositories"], tags=opts["tags"], stdout=self.stdout)
        actors = self._actors()
        self.stdout.write(
            f"{connection.vendor}: {Repository.objects.count()} repositories, "
            f"{Repository.objects.aggregate(n=Count('tags'))['n']} tags, {Namespace.objects.count()} namespaces, "
            f"{Team.objects.count()} teams, {User.objects.count()} users; per_page "
            f"{option('pagination.per_page')}; {opts['runs']} runs per page.\n"
        )
        self.stdout.write(f"{'page':<44} {'actor':<10} {'status':>6} {'median':>8} {'p95':>8} {'queries':>8}")
        slowest = 0.0
        for actor, user in actors.items():
            client = self._client(user)
            for label, url in self._pages(user):
                status, median, p95, queries = self._measure(client, url, opts["runs"], opts["warmup"])
                slowest = max(slowest, p95)
                self.stdout.write(f"{label:<44} {actor:<10} {status:>6} {median:>7.1f}  {p95:>7.1f}  {queries:>7}")
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
        for name in ("admin-status", "admin-users", "admin-registries", "admin-activities"):
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            if user is not None and user.admin:
                pages.append((f"{url} (admin)", url))
        anonymous_pages = {"/namespaces/<fullest>", "/repositories/<most tags>", "/search?q=api",
                           "/search?q=a (broad)", "/explore", "/explore?page=<deep>"}
        return [(label, url) for label, url in pages if url and self._exists(url)
                and (user is not None or label in anonymous_pages)]

    @staticmethod
    def _exists(url: str) -> bool:
        try:
            resolve(url.split("?")[0])
        except Resolver404:
            return False
        return True

    @staticmethod
    def _measure(client: Client, url: str, runs: int, warmup: int) -> tuple[int, float, float, int]:
        for _ in range(warmup):
            client.get(url)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        return response.status_code, statistics.median(timings), p95, len(queries)
