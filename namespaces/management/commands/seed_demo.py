"""Fills the database with fake but realistic data, in bulk: users, teams, namespaces, repositories, tags."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.services import personal_team_name
from activities.models import Activity
from namespaces.models import Comment, Namespace, Repository, Star, Tag, Visibility
from namespaces.services import global_namespace_ensure
from registries.models import Registry
from teams.models import Role, Team, TeamMember

BATCH = 1000
MAX_ROWS = 100_000_000
# Activity rows per statement when topping the log up: each is its own transaction, so a long run shows progress
# and an interrupted one keeps what it wrote.
ACTIVITY_BATCH = 1_000_000
# What the log is made of beyond the pushes of the seeded tags, with weights (pushes dominate real logs).
EXTRA_ACTIVITIES = (("repository.push", 12), ("tag.delete", 3), ("repository.star", 2), ("comment.create", 1),
                    ("repository.change_description", 1))
ACTIVITY_SPAN = timedelta(days=730)
MAX_TAGS_PER_REPOSITORY = 2000
FIRST_NAMES = (
    "alice", "bruno", "chiara", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas", "kavya", "liam",
    "mei", "nadia", "omar", "priya", "quentin", "rosa", "sven", "tariq", "ursula", "victor", "wen", "ximena",
    "yusuf", "zoe",
)
AREAS = (
    "platform", "payments", "search", "data", "ml", "infra", "mobile", "web", "identity", "billing", "analytics",
    "edge", "storage", "observability", "security", "devtools", "checkout", "catalog", "notifications", "ads",
)
QUALIFIERS = ("", "core", "labs", "prod", "staging", "tools", "ops", "research")
PARTS = (
    "api", "web", "worker", "frontend", "backend", "gateway", "scheduler", "indexer", "cron", "migrations", "proxy",
    "auth", "cache", "exporter", "sidecar", "cli", "builder", "runner", "db", "ui", "agent", "ingest", "router",
)
DESCRIPTIONS = (
    "Images built by CI from `main`. Pull `latest` for the newest build, or pin a version.",
    "## Usage\n\n```\ndocker run --rm -p 8080:8080 IMAGE\n```\n\nSee the *README* in the source repository.",
    "Base image for the team's services: **Debian slim**, CA certificates, a non-root user.",
    "",
)
COMMENTS = (
    "Is `latest` safe to deploy? The changelog mentions a migration.",
    "Works on **arm64** too now, thanks!",
    "Please keep the `1.x` tags around until the end of the quarter.",
    "Size went up by 40 MB in the last build — a debug layer slipped in?",
)


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TAG_COLUMNS = ("repository_id", "name", "digest", "media_type", "image_id", "size", "platforms", "author_id",
               "pushed_at", "pulled_at", "pull_count", "event_time", "created_at", "updated_at")
ACTIVITY_COLUMNS = ("key", "owner_id", "target_type", "target_id", "target_name", "namespace_id", "parameters",
                    "created_at")


def insert_rows(model, columns: tuple[str, ...], rows: list[tuple], per_statement: int = 500) -> None:
    """INSERT … ON CONFLICT DO NOTHING of rows whose values are ready for the database.

    For the two big tables only: preparing a few hundred thousand model instances field by field costs the
    ORM several times what the database spends storing them.
    """
    quote = connection.ops.quote_name
    # Table and column names come from the model, quoted; every value is a parameter.
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(head + ", ".join([one] * len(chunk)) + " ON CONFLICT DO NOTHING",
                           [value for row in chunk for value in row])


def fake_digest(*parts) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


class Command(BaseCommand):
    help = ("Seed fake data for demos and benchmarks: users (password --password), teams with members, "
            "namespaces of each visibility, repositories, tags (some multi-platform), stars, comments and "
            "activities. Names are deterministic: a second run adds nothing that is there already.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--repositories", type=int, default=200)
        parser.add_argument("--tags", type=int, default=2000, help="tags in all, over every repository")
        parser.add_argument("--users", type=int, default=0, help="default: about one per 100 repositories")
        parser.add_argument("--password", default="demo-password", help="password of every seeded user")
        parser.add_argument("--activities", type=int, default=0,
                            help="activity rows in all (default: one push per tag); tops the log up to this many "
                                 "with pushes, tag deletions, stars and comments spread over two years")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **opts) -> None:
        repositories, tags = opts["repositories"], opts["tags"]
        if repositories < 1 or tags < 0 or opts["activities"] < 0:
            raise CommandError("--repositories must be at least 1, --tags and --activities at least 0.")
        if max(repositories, tags, opts["activities"]) > MAX_ROWS:
            raise CommandError(f"At most {MAX_ROWS:,} of each.")
        self.rng = random.Random(opts["seed"])
        self.now = timezone.now().replace(microsecond=0)
        users = opts["users"] or max(12, min(500, repositories // 100))
        started = time.monotonic()
        with transaction.atomic():
            self.registry = self._registry()
            user_ids = self._users(users, opts["password"])
            team_ids = self._teams(user_ids, max(4, users // 3))
            namespace_ids = self._namespaces(team_ids, user_ids, max(6, repositories // 20))
            new_repositories = self._repositories(namespace_ids, repositories)
            self._tags(new_repositories, user_ids, tags, repositories)
            self._stars_and_comments(new_repositories, user_ids)
            self._recount()
        self._more_activities(opts["activities"])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, so the planner sees tables of this size
        self.stdout.write(self.style.SUCCESS(
            f"Seeded in {time.monotonic() - started:.1f} s: {User.objects.count()} users, "
            f"{Team.objects.filter(hidden=False).count()} teams, {Namespace.objects.count()} namespaces, "
            f"{Repository.objects.count()} repositories, {Tag.objects.count()} tags, "
            f"{Activity.objects.count()} activities. "
            f"Sign in as admin (or any seeded user) with password {opts['password']!r}."
        ))

    # --- users and teams ------------------------------------------------------------------------

    def _registry(self) -> Registry:
        registry = Registry.default()
        if registry is None:
            registry = Registry.objects.create(name="demo", hostname="registry.demo.lan:5000", use_ssl=False)
        return registry

    def _users(self, count: int, password: str) -> dict[str, int]:
        hashed = make_password(password)
        names = ["admin"] + [f"{FIRST_NAMES[i % len(FIRST_NAMES)]}{'' if i < len(FIRST_NAMES) else i}"
                             for i in range(count - 1)]
        User.objects.bulk_create(
            [User(username=name, email=f"{name}@demo.example", password=hashed, admin=name == "admin",
                  display_name=name.capitalize()) for name in names],
            batch_size=BATCH, ignore_conflicts=True,
        )
        ids = dict(User.objects.filter(username__in=names).values_list("username", "id"))
        Team.objects.bulk_create(
            [Team(name=personal_team_name(name), hidden=True, personal_of_id=uid) for name, uid in ids.items()],
            batch_size=BATCH, ignore_conflicts=True,
        )
        personal = dict(Team.objects.filter(personal_of_id__in=ids.values()).values_list("personal_of_id", "id"))
        TeamMember.objects.bulk_create(
            [TeamMember(team_id=team_id, user_id=uid, role=Role.OWNER) for uid, team_id in personal.items()],
            batch_size=BATCH, ignore_conflicts=True,
        )
        Namespace.objects.bulk_create(
            [Namespace(registry=self.registry, name=name, team_id=personal[uid], visibility=Visibility.PRIVATE,
                       description=f"Personal namespace of {name}.") for name, uid in ids.items()],
            batch_size=BATCH, ignore_conflicts=True,
        )
        self.personal_namespaces = dict(Namespace.objects.filter(
            registry=self.registry, team_id__in=personal.values()).values_list("team__personal_of_id", "id"))
        return ids

    def _teams(self, user_ids: dict[str, int], count: int) -> list[int]:
        names = [f"{AREAS[i % len(AREAS)]}{'' if i < len(AREAS) else f'-{i // len(AREAS) + 1}'}" for i in range(count)]
        Team.objects.bulk_create(
            [Team(name=name, description=f"The **{name}** team.") for name in names],
            batch_size=BATCH, ignore_conflicts=True,
        )
        team_ids = list(Team.objects.filter(name__in=names).values_list("id", flat=True))
        people = [uid for name, uid in user_ids.items() if name != "admin"]
        members = []
        for team_id in team_ids:
            chosen = self.rng.sample(people, k=min(len(people), self.rng.randint(2, 9)))
            members.append(TeamMember(team_id=team_id, user_id=chosen[0], role=Role.OWNER))
            members += [TeamMember(team_id=team_id, user_id=uid,
                                   role=self.rng.choice([Role.CONTRIBUTOR, Role.CONTRIBUTOR, Role.VIEWER]))
                        for uid in chosen[1:]]
        TeamMember.objects.bulk_create(members, batch_size=BATCH, ignore_conflicts=True)
        return team_ids

    def _namespaces(self, team_ids: list[int], user_ids: dict[str, int], count: int) -> list[int]:
        visibilities = [Visibility.PRIVATE] * 2 + [Visibility.PROTECTED, Visibility.PUBLIC]
        names = []
        for i in range(count):
            area, qualifier = AREAS[i % len(AREAS)], QUALIFIERS[(i // len(AREAS)) % len(QUALIFIERS)]
            suffix = i // (len(AREAS) * len(QUALIFIERS))
            names.append("-".join(filter(None, [area, qualifier, str(suffix) if suffix else ""])))
        rng = random.Random(self.rng.random())
        Namespace.objects.bulk_create(
            [Namespace(registry=self.registry, name=name, team_id=rng.choice(team_ids),
                       visibility=rng.choice(visibilities),
                       description=rng.choice(DESCRIPTIONS).replace("IMAGE", name)) for name in names],
            batch_size=BATCH, ignore_conflicts=True,
        )
        ids = list(Namespace.objects.filter(registry=self.registry, name__in=names).values_list("id", flat=True))
        # A few images in personal namespaces and in the registry's global one, as real registries have.
        ids += self.rng.sample(list(self.personal_namespaces.values()), k=min(5, len(self.personal_namespaces)))
        ids.append(global_namespace_ensure(registry=self.registry).pk)
        return ids

    # --- repositories and tags ------------------------------------------------------------------

    def _repositories(self, namespace_ids: list[int], count: int) -> list[Repository]:
        """Creates the repositories that are missing; returns those created by this run."""
        rng = random.Random(self.rng.random())
        planned: dict[tuple[int, str], None] = {}
        while len(planned) < count:
            namespace_id = rng.choice(namespace_ids)
            name = "-".join(rng.sample(PARTS, k=rng.choice([1, 2, 2, 3])))
            if rng.random() < 0.1:
                name = f"{rng.choice(PARTS)}/{name}"
            if (namespace_id, name) in planned:
                name = f"{name}-{len(planned)}"
            planned[(namespace_id, name)] = None
        existing = set(Repository.objects.filter(namespace_id__in=namespace_ids).values_list("namespace_id", "name"))
        Repository.objects.bulk_create(
            [Repository(namespace_id=ns, name=name, description=rng.choice(DESCRIPTIONS).replace("IMAGE", name))
             for ns, name in planned if (ns, name) not in existing],
            batch_size=BATCH, ignore_conflicts=True,
        )
        created = [key for key in planned if key not in existing]
        by_key = {(r.namespace_id, r.name): r for r in
                  Repository.objects.filter(namespace_id__in=namespace_ids).only("id", "namespace_id", "name")}
        return [by_key[key] for key in created if key in by_key]

    def _tags(self, repositories: list[Repository], user_ids: dict[str, int], total: int, all_count: int) -> None:
        """About total × (new / all) tags, spread unevenly: most repositories have a few, some hundreds."""
        if not repositories:
            return
        rng = random.Random(self.rng.random())
        budget = round(total * len(repositories) / all_count)
        counts = self._spread(budget, len(repositories), rng)
        prefixes = {pk: "" if not name else f"{name}/" for pk, name in
                    Namespace.objects.filter(pk__in={r.namespace_id for r in repositories}).values_list("id", "name")}
        for repository in repositories:
            repository.full = prefixes[repository.namespace_id] + repository.name
        authors = list(user_ids.values())
        tags, activities = [], []
        for repository, count in zip(repositories, counts, strict=True):
            tags_of, pushes = self._tags_of(repository, count, rng, authors)
            tags += tags_of
            activities += pushes
            if len(tags) >= 20 * BATCH:
                self._flush(tags, activities)
                tags, activities = [], []
        self._flush(tags, activities)

    @staticmethod
    def _spread(budget: int, slots: int, rng: random.Random) -> list[int]:
        """`budget` split over `slots`, unevenly (a long tail), each at most MAX_TAGS_PER_REPOSITORY."""
        budget = min(budget, slots * MAX_TAGS_PER_REPOSITORY)
        floor = 1 if budget >= slots else 0
        weights = [rng.paretovariate(1.3) for _ in range(slots)]
        scale = budget / sum(weights)
        counts = [max(floor, min(MAX_TAGS_PER_REPOSITORY, int(w * scale))) for w in weights]
        missing = budget - sum(counts)
        while missing:
            i = rng.randrange(slots)
            if missing > 0 and counts[i] < MAX_TAGS_PER_REPOSITORY:
                counts[i] += 1
                missing -= 1
            elif missing < 0 and counts[i] > floor:
                counts[i] -= 1
                missing += 1
        return counts

    @staticmethod
    def _versions(rng: random.Random):
        """Release versions newest first, never repeating (3.12.7, 3.12.6, …, 0.0.0, then build-1, …),
        each with its minor line (3.12)."""
        major, minor, patch = rng.randint(0, 4), rng.randint(0, 20), rng.randint(0, 30)
        while major >= 0:
            yield f"{major}.{minor}.{patch}", f"{major}.{minor}"
            patch -= 1
            if patch < 0:
                minor, patch = minor - 1, rng.randint(3, 30)
            if minor < 0:
                major, minor = major - 1, rng.randint(3, 20)
        build = 0
        while True:
            build += 1
            yield f"build-{build}", None

    def _tags_of(self, repository: Repository, count: int, rng: random.Random, authors: list[int]):
        """One digest per version, newest first, with one to three tags on it (1.4.2, 1.4, latest).

        Rows for insert_rows: TAG_COLUMNS and ACTIVITY_COLUMNS."""
        tags, activities = [], []
        adapt = connection.ops.adapt_datetimefield_value
        now = adapt(self.now)
        pushed = self.now - timedelta(minutes=rng.randint(5, 60 * 24 * 30))
        multi_platform = rng.random() < 0.2
        media_type = OCI_INDEX if multi_platform else OCI_MANIFEST
        lines: set[str] = set()
        versions = self._versions(rng)
        while len(tags) < count:
            version, line = next(versions)
            names = [version]
            if line and line not in lines:
                lines.add(line)
                names.append(line)
            if not tags:
                names.append("latest")
            names = names[: count - len(tags)]
            digest = fake_digest(repository.pk, version)
            author = rng.choice(authors)
            size = rng.randint(2_000_000, 900_000_000)
            platforms = []
            if multi_platform:
                platforms = [
                    {"os": "linux", "architecture": "amd64", "digest": fake_digest(digest, "amd64"), "size": size},
                    {"os": "linux", "architecture": "arm64", "variant": "v8", "digest": fake_digest(digest, "arm64"),
                     "size": int(size * 0.95)},
                ]
                size += platforms[1]["size"]
            pulled = pushed + timedelta(hours=rng.randint(1, 400)) if rng.random() < 0.7 else None
            image = (digest, media_type, "" if multi_platform else fake_digest("config", digest), size,
                     json.dumps(platforms), author, adapt(pushed), adapt(min(pulled, self.now)) if pulled else None,
                     rng.randint(1, 5000) if pulled else 0, adapt(pushed), now, now)
            for name in names:
                tags.append((repository.pk, name, *image))
                activities.append(("repository.push", author, "repository", repository.pk, repository.full,
                                   repository.namespace_id, json.dumps({"tag": name, "digest": digest}),
                                   adapt(pushed)))
            pushed -= timedelta(minutes=rng.randint(30, 60 * 24 * 20))
        return tags, activities

    def _flush(self, tags: list[tuple], activities: list[tuple]) -> None:
        insert_rows(Tag, TAG_COLUMNS, tags)
        insert_rows(Activity, ACTIVITY_COLUMNS, activities)

    def _stars_and_comments(self, repositories: list[Repository], user_ids: dict[str, int]) -> None:
        rng = random.Random(self.rng.random())
        people = list(user_ids.values())
        liked = rng.sample(repositories, k=len(repositories) // 5)
        Star.objects.bulk_create(
            [Star(repository_id=r.pk, user_id=uid) for r in liked
             for uid in rng.sample(people, k=min(len(people), rng.randint(1, 6)))],
            batch_size=BATCH, ignore_conflicts=True,
        )
        Comment.objects.bulk_create(
            [Comment(repository_id=r.pk, author_id=rng.choice(people), body=rng.choice(COMMENTS))
             for r in rng.sample(repositories, k=len(repositories) // 10)],
            batch_size=BATCH,
        )

    def _recount(self) -> None:
        """The denormalised counters, from the rows (one UPDATE)."""
        tags = Tag.objects.filter(repository=OuterRef("pk")).order_by().values("repository")
        stars = Star.objects.filter(repository=OuterRef("pk")).order_by().values("repository")
        Repository.objects.update(
            tags_count=Coalesce(Subquery(tags.annotate(n=Count("id")).values("n")), Value(0)),
            pushed_at=Subquery(tags.annotate(last=Max("pushed_at")).values("last")),
            stars_count=Coalesce(Subquery(stars.annotate(n=Count("id")).values("n")), Value(0)),
        )


    # --- a long activity log ----------------------------------------------------------------------

    def _more_activities(self, total: int) -> None:
        """Tops the activity log up to `total` rows, about the seeded repositories, newest first.

        The rows are spread evenly over ACTIVITY_SPAN with timestamps whole seconds, so that large logs hold
        many rows with the same time (what keyset pagination must page through without a skip or a repeat).
        On PostgreSQL one INSERT … SELECT over generate_series per ACTIVITY_BATCH rows (millions a minute);
        elsewhere rows built here, in multi-row INSERTs.
        """
        missing = total - Activity.objects.count()
        if missing <= 0:
            return
        repositories = list(Repository.objects.order_by("id").values_list("id", "namespace_id", "namespace__name",
                                                                          "name"))
        owners = list(User.objects.filter(bot=False).order_by("id").values_list("id", flat=True))
        if not repositories or not owners:
            return
        kinds = [key for key, weight in EXTRA_ACTIVITIES for _ in range(weight)]
        step = max(1, int(ACTIVITY_SPAN.total_seconds()) // missing)
        oldest = self.now - ACTIVITY_SPAN
        started = time.monotonic()
        with self._activity_indexes_dropped(missing >= ACTIVITY_BATCH):
            for first in range(0, missing, ACTIVITY_BATCH):
                count = min(ACTIVITY_BATCH, missing - first)
                with transaction.atomic():
                    if connection.vendor == "postgresql":
                        self._activities_sql(first, count, kinds, step, oldest)
                    else:
                        self._activities_rows(first, count, kinds, step, oldest, repositories, owners)
                self.stdout.write(f"  activities: {first + count:,} of {missing:,} added "
                                  f"({time.monotonic() - started:.0f} s)")

    @contextlib.contextmanager
    def _activity_indexes_dropped(self, worth_it: bool):
        """On PostgreSQL, for millions of rows: the log's secondary indexes dropped, then built again once
        (a build sorts once; keeping them costs a descent into each of them per row)."""
        if not worth_it or connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                           "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                           [Activity._meta.db_table, Activity._meta.db_table])
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
        try:
            yield
        finally:
            started = time.monotonic()
            with connection.cursor() as cursor:
                for _, definition in indexes:  # as PostgreSQL itself wrote them
                    cursor.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            self.stdout.write(f"  activities: {len(indexes)} indexes built again "
                              f"({time.monotonic() - started:.0f} s)")

    @staticmethod
    def _activities_sql(first: int, count: int, kinds: list[str], step: int, oldest) -> None:
        # Row g is about repository g·7919 mod n (a prime stride: neighbours differ) and owned by user g mod m;
        # every third pair of rows shares its second. Names are read from the tables, values are parameters.
        with connection.cursor() as cursor:
            cursor.execute("""
                CREATE TEMP TABLE IF NOT EXISTS seed_repository AS
                SELECT row_number() OVER (ORDER BY r.id) - 1 AS n, r.id, r.namespace_id,
                       CASE WHEN ns.name = '' THEN r.name ELSE ns.name || '/' || r.name END AS full_name
                FROM namespaces_repository r JOIN namespaces_namespace ns ON ns.id = r.namespace_id
            """)
            cursor.execute("CREATE UNIQUE INDEX IF NOT EXISTS seed_repository_n ON seed_repository (n)")
            cursor.execute("""
                CREATE TEMP TABLE IF NOT EXISTS seed_owner AS
                SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM accounts_user WHERE NOT bot
            """)
            cursor.execute("CREATE UNIQUE INDEX IF NOT EXISTS seed_owner_n ON seed_owner (n)")
            cursor.execute("""
                INSERT INTO activities_activity
                    (key, owner_id, target_type, target_id, target_name, namespace_id, parameters, created_at)
                SELECT k.kinds[1 + g %% cardinality(k.kinds)], o.id, 'repository', r.id, r.full_name,
                       r.namespace_id,
                       CASE WHEN k.kinds[1 + g %% cardinality(k.kinds)] IN ('repository.push', 'tag.delete')
                            THEN jsonb_build_object('tag', 'build-' || (g %% 500)) ELSE '{}'::jsonb END,
                       %s::timestamptz + make_interval(secs => ((g - g %% 3 / 2) * %s)::double precision)
                FROM generate_series(%s::bigint, %s::bigint) AS g
                CROSS JOIN (SELECT %s::text[] AS kinds,
                                   (SELECT count(*) FROM seed_repository) AS repositories,
                                   (SELECT count(*) FROM seed_owner) AS owners) AS k
                JOIN seed_repository r ON r.n = (g * 7919) %% k.repositories
                JOIN seed_owner o ON o.n = g %% k.owners
                ORDER BY g
            """, [oldest, step, first, first + count - 1, kinds])

    @staticmethod
    def _activities_rows(first: int, count: int, kinds: list[str], step: int, oldest,
                         repositories: list[tuple], owners: list[int]) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        rows = []
        for g in range(first, first + count):
            key = kinds[g % len(kinds)]
            pk, namespace_id, namespace, name = repositories[(g * 7919) % len(repositories)]
            parameters = {"tag": f"build-{g % 500}"} if key in ("repository.push", "tag.delete") else {}
            rows.append((key, owners[g % len(owners)], "repository", pk, f"{namespace}/{name}" if namespace else name,
                         namespace_id, json.dumps(parameters),
                         adapt(oldest + timedelta(seconds=(g - g % 3 // 2) * step))))
            if len(rows) >= 20 * BATCH:
                insert_rows(Activity, ACTIVITY_COLUMNS, rows)
                rows = []
        insert_rows(Activity, ACTIVITY_COLUMNS, rows)
