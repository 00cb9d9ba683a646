"""Forms of the browsing pages. They parse and check input; the services in namespaces/ and teams/ write."""

from __future__ import annotations

from django import forms

from namespaces.models import Visibility
from namespaces.social import MAX_COMMENT_LENGTH
from teams.models import Role, Team


def _control(widget: forms.Widget, **attrs) -> forms.Widget:
    css = "form-select" if isinstance(widget, forms.Select) else "form-control"
    widget.attrs.update({"class": css, **attrs})
    return widget


def _markdown_field(label: str, rows: int = 5) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=10000,
        widget=_control(forms.Textarea(attrs={"rows": rows})), help_text="Markdown.",
    )


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        return obj.name


class NamespaceCreateForm(forms.Form):
    name = forms.CharField(max_length=255, widget=_control(forms.TextInput(attrs={"autocomplete": "off"})),
                           help_text="Lowercase letters and digits, separated by '.', '_', '__' or '-'.")
    team = TeamChoiceField(queryset=Team.objects.none(), widget=_control(forms.Select()))
    description = _markdown_field("Description")

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


class NamespaceEditForm(forms.Form):
    """Name and team only where they may change (see the view); the description always."""

    name = forms.CharField(max_length=255, widget=_control(forms.TextInput(attrs={"autocomplete": "off"})),
                           help_text="Only a namespace without repositories and robots can be renamed: the "
                                     "registry stores images under the namespace's name.")
    team = TeamChoiceField(queryset=Team.objects.none(), widget=_control(forms.Select()),
                           help_text="Moving a namespace hands it, with its repositories, to that team's members.")
    description = _markdown_field("Description", rows=8)

    def __init__(self, *args, teams=None, rename_refusal: str | None = None, team_optional: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if teams is None:
            del self.fields["team"]
        else:
            self.fields["team"].queryset = teams
            if team_optional:
                # Created by an admin's push: in no team yet, and staying so until one is chosen.
                self.fields["team"].required = False
                self.fields["team"].empty_label = "Not in a team yet"
        if rename_refusal:
            # Shown, not editable, with the reason (a disabled field keeps its initial value on POST).
            self.fields["name"].disabled = True
            self.fields["name"].help_text = rename_refusal


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(choices=Visibility.choices)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, widget=_control(forms.TextInput(attrs={"autocomplete": "off"})))
    description = _markdown_field("Description")


class MemberAddForm(forms.Form):
    username = forms.CharField(
        label="User", max_length=64,
        widget=_control(forms.TextInput(attrs={"autocomplete": "off", "list": "member-suggestions",
                                               "spellcheck": "false", "autocapitalize": "none"})),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, widget=_control(forms.Select()))


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TeamDeleteForm(forms.Form):
    new_team = TeamChoiceField(
        label="Move its namespaces to", queryset=Team.objects.none(), required=False,
        widget=_control(forms.Select()),
    )

    def __init__(self, *args, teams, needs_new_team: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_team"].queryset = teams
        self.fields["new_team"].required = needs_new_team
        if not needs_new_team:
            del self.fields["new_team"]


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", max_length=MAX_COMMENT_LENGTH,
        widget=_control(forms.Textarea(attrs={"rows": 3})), help_text="Markdown.",
    )


class RepositoryEditForm(forms.Form):
    description = _markdown_field("Description", rows=8)
