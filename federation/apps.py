from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "federation"
    label = "federation"
    verbose_name = "Federated identities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plugs in where the lower apps check logins, so that they never import this one."""
        from accounts import credentials
        from federation import hints, keyless, local_login
        from web import forms

        if keyless.login not in credentials.LOGIN_PLUGINS:
            credentials.LOGIN_PLUGINS.append(keyless.login)
        if hints.password_hint not in credentials.REFUSAL_HINTS:
            credentials.REFUSAL_HINTS.append(hints.password_hint)
        if local_login.refusal not in forms.SIGN_IN_CHECKS:
            forms.SIGN_IN_CHECKS.append(local_login.refusal)
