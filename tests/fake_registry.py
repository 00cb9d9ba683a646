"""A registry in memory standing in for registries.client.RegistryClient: what it holds, and what it was asked.

It behaves as Distribution does where the tests depend on it: the catalog lists repositories in order, a
repository stays listed after its last tag is gone, and deleting a manifest removes every tag on it."""

from __future__ import annotations

from registries.client import DeleteNotAllowed, ManifestUnknown, RegistryUnavailable
from registries.manifests import Manifest


class FakeRegistry:
    def __init__(self) -> None:
        self.repositories: dict[str, dict[str, str]] = {}  # repository → tag → digest
        self.children: dict[str, list[str]] = {}  # an index's digest → its children's
        self.extra_manifests: dict[str, set[str]] = {}  # repository → untagged digests it holds
        self.deleted: list[tuple[str, str]] = []
        self.catalog_read: list[str] = []  # the names the catalog handed out, in order
        self.down = False
        self.deletes_allowed = True

    def push(self, repository: str, tag: str, digest: str, children: tuple[str, ...] = ()) -> None:
        self.repositories.setdefault(repository, {})[tag] = digest
        if children:
            self.children[digest] = list(children)
            self.extra_manifests.setdefault(repository, set()).update(children)

    def holds(self, repository: str) -> dict[str, str]:
        return dict(self.repositories.get(repository, {}))

    def _check(self) -> None:
        if self.down:
            raise RegistryUnavailable("GET http://registry.test.lan:5000/v2/: ConnectionError")

    def client(self, registry):
        fake = self

        class Client:
            def catalog(self):
                fake._check()
                for name in sorted(fake.repositories):
                    fake.catalog_read.append(name)
                    yield name

            def tags(self, repository: str) -> list[str]:
                fake._check()
                return sorted(fake.repositories.get(repository, {}))

            def get_manifest(self, repository: str, reference: str) -> Manifest:
                fake._check()
                digest = fake.repositories.get(repository, {}).get(reference, reference)
                if digest not in fake._digests(repository):
                    raise ManifestUnknown(f"{repository}@{reference}: not in the registry")
                data = {"manifests": [{"digest": child} for child in fake.children.get(digest, [])]}
                return Manifest(digest=digest, media_type="application/vnd.oci.image.index.v1+json"
                                if digest in fake.children else "application/vnd.oci.image.manifest.v1+json",
                                body=b"{}", data=data)

            def manifest_digest(self, repository: str, tag: str) -> str | None:
                fake._check()
                return fake.repositories.get(repository, {}).get(tag)

            def delete_manifest(self, repository: str, digest: str) -> None:
                fake._check()
                if not fake.deletes_allowed:
                    raise DeleteNotAllowed("the registry does not allow deletes (storage.delete.enabled)")
                if digest not in fake._digests(repository):
                    raise ManifestUnknown(f"{repository}@{digest}: not in the registry")
                tags = fake.repositories.get(repository, {})
                for tag in [t for t, d in tags.items() if d == digest]:
                    del tags[tag]
                fake.extra_manifests.get(repository, set()).discard(digest)
                fake.deleted.append((repository, digest))

        return Client()

    def _digests(self, repository: str) -> set[str]:
        return set(self.repositories.get(repository, {}).values()) | self.extra_manifests.get(repository, set())
