"""URLs of the second factor: the profile's Two-factor page, the second step of signing in, passkeys."""

from django.urls import path

from twofactor.views import admin, second_step, setup

urlpatterns = [
    path("users/two_factor", setup.setup, name="twofactor-setup"),
    path("users/two_factor/totp", setup.totp_enrol, name="twofactor-totp"),
    path("users/two_factor/totp/confirm", setup.totp_confirm_view, name="twofactor-totp-confirm"),
    path("users/two_factor/totp/remove", setup.totp_remove_view, name="twofactor-totp-remove"),
    path("users/two_factor/recovery_codes", setup.recovery_regenerate, name="twofactor-recovery"),
    path("users/two_factor/recovery_codes/new", setup.new_codes, name="twofactor-recovery-new"),
    path("users/two_factor/passkeys/options", setup.passkey_register_options, name="twofactor-passkey-options"),
    path("users/two_factor/passkeys", setup.passkey_register, name="twofactor-passkey-register"),
    path("users/two_factor/passkeys/<int:pk>/delete", setup.passkey_delete, name="twofactor-passkey-delete"),
    path("admin/users/<int:pk>/two_factor/reset", admin.reset, name="twofactor-admin-reset"),
    # The second step of signing in.
    path("users/two_factor/verify", second_step.verify, name="twofactor-verify"),
    path("users/two_factor/verify/passkey/options", second_step.verify_passkey_options,
         name="twofactor-verify-passkey-options"),
    path("users/two_factor/verify/passkey", second_step.verify_passkey, name="twofactor-verify-passkey"),
    # Signing in with a passkey alone.
    path("users/passkey/options", second_step.passkey_options, name="passkey-sign-in-options"),
    path("users/passkey/sign_in", second_step.passkey_sign_in, name="passkey-sign-in"),
]
