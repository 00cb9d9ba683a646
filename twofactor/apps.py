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
        # What a password login's answer reads here: the token endpoint's caches follow its changes.
        from realm import generation

        generation.watch("twofactor.TotpDevice", harmless={"last_step", "last_used_at"})
        generation.watch("twofactor.Passkey", harmless={"sign_count", "last_used_at", "backed_up", "name",
                                                        "transports"})
        audit.connect()
