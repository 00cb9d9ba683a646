"""Forms of the second factor: a code, a confirmation (password or code), a passkey's name."""

from __future__ import annotations

from django import forms

from web.forms import BootstrapMixin


class CodeForm(BootstrapMixin, forms.Form):
    code = forms.CharField(
        label="Code", max_length=64, strip=True,
        help_text="The 6-digit code of your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none",
                                      "spellcheck": "false", "autofocus": True}),
    )


class TotpConfirmForm(BootstrapMixin, forms.Form):
    code = forms.CharField(
        label="Code from the app", max_length=16, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


class ConfirmForm(BootstrapMixin, forms.Form):
    """Proof that the person at the keyboard is the account's owner, before a factor is changed."""

    confirm = forms.CharField(
        label="Your password or a current authenticator code", max_length=1024, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
