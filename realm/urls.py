"""URLs of the token realm."""

from django.urls import path

from realm.token import token_view

urlpatterns = [
    path("v2/token", token_view, name="registry-token"),
]
