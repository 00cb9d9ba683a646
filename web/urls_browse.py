"""URLs of the browsing pages: namespaces, teams, repositories, tags, search, explore."""

urlpatterns: list = []
