from django.apps import AppConfig


class LdapAuthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ldapauth"
    verbose_name = "LDAP"

    def ready(self) -> None:
        # Whether an account signs in through the directory: the token endpoint's caches follow it.
        from realm import generation

        generation.watch("ldapauth.LdapAccount", harmless={"last_bind_at"})
