"""Forms of the robot and grant pages."""

from __future__ import annotations

from django import forms

from grants.models import Permission
from web.forms import BootstrapMixin

ROLE_CHOICES = [("", "No role (grants only)"), ("viewer", "Viewer: pulls"),
                ("contributor", "Contributor: pulls and pushes")]


class RobotForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=64,
                           help_text="Lowercase letters and digits, e.g. “ci”. The login name is fixed from it.")
    description = forms.CharField(label="Description", max_length=150, required=False)
    role = forms.ChoiceField(label="Role in the namespace's team", choices=ROLE_CHOICES, required=False)

    def __init__(self, *args, with_role: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_role:
            del self.fields["role"]


class GrantForm(BootstrapMixin, forms.Form):
    pattern = forms.CharField(label="Repository or pattern", max_length=255,
                              help_text="A repository of this namespace (<code>app</code>) or a pattern "
                                        "(<code>app/*</code>; <code>*</code> matches any characters, "
                                        "<code>?</code> one).")
    grantee_kind = forms.ChoiceField(label="To", choices=[("user", "User or robot"), ("team", "Team")])
    grantee = forms.CharField(label="Name", max_length=255,
                              help_text="A user's or robot's login name, or a team's name.")
    permission = forms.ChoiceField(label="Permission", choices=Permission.choices)


class GrantChangeForm(BootstrapMixin, forms.Form):
    permission = forms.ChoiceField(label="Permission", choices=Permission.choices)
