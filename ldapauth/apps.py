from django.apps import AppConfig


class LdapAuthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ldapauth"
    verbose_name = "LDAP"
