"""URLs of web."""

urlpatterns: list = []
