from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "twofactor"
    verbose_name = "Two factors"

    def ready(self) -> None:
        # accounts sits below this app: it learns of second factors through its plug point, not an import.
        from accounts import credentials
        from twofactor import audit, enforcement

        credentials.password_door_checks.append(enforcement.password_door_refusal)
        credentials.user_annotations.update(enforcement.user_annotations())
        audit.connect()
