"""URLs of the image pages."""

from django.urls import path

from images import views

urlpatterns = [
    path("tags/<int:pk>", views.tag_detail, name="tag"),
    path("namespaces/<int:pk>/signing_keys", views.signing_keys, name="namespace-signing-keys"),
    path("namespaces/<int:pk>/signing_keys/<int:key_pk>/delete", views.signing_key_delete,
         name="namespace-signing-key-delete"),
    path("admin/storage", views.storage_page, name="admin-storage"),
]
