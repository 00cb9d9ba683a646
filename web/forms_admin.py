"""Forms of the admin pages: users, registries, the activity filter."""

from __future__ import annotations

from datetime import date

from django import forms

from accounts.models import User
from web.forms import BootstrapMixin, PasswordPairMixin
from web.templatetags.portus_activity import activity_choices

# Days the activity filter accepts: a day past 9998 would overflow the end of the day after it.
ACTIVITY_FIRST_DAY, ACTIVITY_LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


class UserSearchForm(BootstrapMixin, forms.Form):
    KINDS = [("", "Everyone"), ("admins", "Admins"), ("bots", "Bots"), ("disabled", "Disabled"),
             ("locked", "Locked")]

    q = forms.CharField(label="Search", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or email"}))
    kind = forms.ChoiceField(label="Show", choices=KINDS, required=False)


class AdminUserCreateForm(BootstrapMixin, PasswordPairMixin, forms.Form):
    username = forms.CharField(label="User name", max_length=64,
                               widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}))
    email = forms.EmailField(label="Email", required=False, help_text="Required for people; bots have none.")
    display_name = forms.CharField(label="Display name", max_length=150, required=False)
    password = forms.CharField(
        label="Password", strip=False, required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Required for people. A bot signs in with application tokens; give it a password only "
                  "if a tool needs one.",
    )
    password_confirm = forms.CharField(label="Password again", strip=False, required=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    admin = forms.BooleanField(label="Administrator", required=False)
    bot = forms.BooleanField(label="Bot account (registry and API only, no web sign-in)", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("email", "password", "password_confirm"):
            self.fields[name].hide_optional = True  # required for people, not for bots

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("bot"):
            if not cleaned.get("email"):
                self.add_error("email", "A person needs an email address.")
            if not cleaned.get("password"):
                self.add_error("password", "A person needs a password.")
        candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email") or None)
        self.check_password_pair(candidate)
        return cleaned


class AdminUserEditForm(BootstrapMixin, forms.Form):
    email = forms.EmailField(label="Email", required=False)
    display_name = forms.CharField(label="Display name", max_length=150, required=False)


class RegistryForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=255)
    hostname = forms.CharField(
        label="Host name", max_length=255,
        help_text="host[:port] where this service reaches the registry; also the token's service, so it must "
                  "equal the registry's auth.token.service.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false",
                                      "placeholder": "registry.example.org:5000"}),
    )
    external_hostname = forms.CharField(
        label="External host name", max_length=255, required=False,
        help_text="host[:port] clients use in image names, when it differs (behind a proxy).",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    use_ssl = forms.BooleanField(label="The registry is served over TLS (https)", required=False, initial=True)
    save_anyway = forms.BooleanField(
        label="Save even if the registry cannot be reached now", required=False,
        help_text="Saving checks that /v2/ answers like a registry; tick this to skip the check.",
    )


class ActivityFilterForm(BootstrapMixin, forms.Form):
    # The known events by name (web/templatetags/portus_activity.py); any other value is refused.
    key = forms.ChoiceField(label="Event", required=False, choices=activity_choices)
    user = forms.CharField(label="User", required=False, max_length=64,
                           widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}))
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="Until (inclusive)", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        for name in ("since", "until"):
            day = cleaned.get(name)
            if day is not None and not (ACTIVITY_FIRST_DAY <= day <= ACTIVITY_LAST_DAY):
                self.add_error(name, f"Give a day between {ACTIVITY_FIRST_DAY.year} and {ACTIVITY_LAST_DAY.year}.")
                since, until = None, None
        if since and until and since > until:
            self.add_error("until", "The end comes before the start.")
        return cleaned
