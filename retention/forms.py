"""The rule form of the web UI (the API reads the same fields through retention/api.py)."""

from __future__ import annotations

from django import forms

from retention import patterns
from retention.models import MAX_DAYS

_INPUT = {"class": "form-control"}


class PatternsField(forms.CharField):
    """Globs separated by commas or spaces; each validated (retention/patterns.py), at most MAX_PATTERNS."""

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=patterns.MAX_PATTERNS * (patterns.MAX_PATTERN_LENGTH + 2),
                         widget=forms.TextInput(attrs=_INPUT), **kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def clean(self, value):
        text = super().clean(value)
        try:
            return patterns.validate_list(text)
        except patterns.PatternError as exc:
            raise forms.ValidationError(str(exc)) from exc


class RuleForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Enabled",
                                 widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
    older_than_days = forms.IntegerField(required=False, min_value=0, max_value=MAX_DAYS,
                                         label="Older than (days)", widget=forms.NumberInput(attrs=_INPUT),
                                         help_text="Tags pushed at least this many days ago may go. "
                                                   "Empty: no age condition.")
    not_pulled_days = forms.IntegerField(required=False, min_value=0, max_value=MAX_DAYS,
                                         label="Not pulled for (days)", widget=forms.NumberInput(attrs=_INPUT),
                                         help_text="…and not pulled for this many days. Empty: pulls do not matter.")
    keep_latest = forms.IntegerField(required=False, min_value=0, max_value=10_000, label="Keep the latest",
                                     widget=forms.NumberInput(attrs=_INPUT),
                                     help_text="The newest N included tags of each repository always stay.")
    include = PatternsField(label="Include tags matching",
                            help_text="Globs such as <code>pr-*</code>, <code>v1.*</code>. Empty: every tag.")
    protect = PatternsField(label="Never delete tags matching", help_text="Globs such as <code>latest</code>, "
                                                                          "<code>release-*</code>.")

    def clean_keep_latest(self):
        return self.cleaned_data.get("keep_latest") or 0
