"""URLs of webhooks."""

urlpatterns: list = []
