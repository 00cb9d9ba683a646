"""URLs of api."""

urlpatterns: list = []
