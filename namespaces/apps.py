from django.apps import AppConfig


class NamespacesConfig(AppConfig):
    name = "namespaces"

    def ready(self) -> None:
        from namespaces.services import registry_namespaces_ensure
        from registries.signals import registry_created

        registry_created.connect(registry_namespaces_ensure, dispatch_uid="namespaces-for-new-registry")
