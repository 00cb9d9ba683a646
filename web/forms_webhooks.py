"""The webhook form of a namespace's webhook pages; hooks/services.py checks and writes."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from hooks import services
from hooks.models import Webhook
from web.forms_browse import _control

EVENT_CHOICES = [("push", "Push"), ("delete", "Delete"), ("pull", "Pull (every pull of a tag: can be many)")]


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, widget=_control(forms.TextInput()))
    url = forms.CharField(label="URL", max_length=2000, widget=_control(forms.URLInput(attrs={"autocomplete": "off"})),
                          help_text="http:// or https://. Private and loopback addresses are refused unless an "
                                    "admin allows them.")
    request_method = forms.ChoiceField(label="Method", choices=Webhook.Method.choices,
                                       widget=_control(forms.Select()), initial=Webhook.Method.POST)
    content_type = forms.ChoiceField(label="Content type", choices=Webhook.ContentType.choices,
                                     widget=_control(forms.Select()), initial=Webhook.ContentType.JSON)
    payload_format = forms.ChoiceField(label="Payload", choices=Webhook.Format.choices,
                                       widget=_control(forms.Select()), initial=Webhook.Format.PORTUS)
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, required=False,
                                       initial=["push", "delete"])
    username = forms.CharField(label="Basic-auth username", max_length=255, required=False,
                               widget=_control(forms.TextInput(attrs={"autocomplete": "off"})))
    password = forms.CharField(label="Basic-auth password", max_length=1024, required=False, strip=False,
                               widget=_control(forms.PasswordInput(attrs={"autocomplete": "new-password"})))
    headers = forms.CharField(label="Custom headers", required=False, max_length=12000,
                              widget=_control(forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})),
                              help_text=f"One <code>Name: value</code> per line, at most {services.MAX_HEADERS}. "
                                        "Stored encrypted; values are not shown again.")
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, webhook: Webhook | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.webhook = webhook
        if webhook is not None:
            self.fields["password"].help_text = ("A password is set: leave empty to keep it." if webhook.has_password
                                                 else "")
            self.fields["clear_password"] = forms.BooleanField(label="Remove the password", required=False)
            names = ", ".join(webhook.header_names)
            self.fields["headers"].help_text += (f" Now set: {names}. Leave empty to keep them." if names else "")
            self.fields["clear_headers"] = forms.BooleanField(label="Remove the custom headers", required=False)

    def clean_url(self) -> str:
        try:
            return services.clean_url(self.cleaned_data.get("url", ""))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean_headers(self) -> list[tuple[str, str]]:
        try:
            return services.clean_headers(self.cleaned_data.get("headers", ""))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def webhook_input(self) -> services.WebhookInput:
        data = self.cleaned_data
        events = set(data["events"])
        password: str | None = data["password"] or None
        if data.get("clear_password"):
            password = ""
        headers: list | None = data["headers"] or (None if self.webhook is not None else [])
        if data.get("clear_headers"):
            headers = []
        return services.WebhookInput(
            url=data["url"], name=data["name"], request_method=data["request_method"],
            content_type=data["content_type"], payload_format=data["payload_format"], username=data["username"],
            password=password, headers=headers, enabled=data["enabled"], on_push="push" in events,
            on_delete="delete" in events, on_pull="pull" in events)

    @classmethod
    def initial_of(cls, webhook: Webhook) -> dict:
        return {"name": webhook.name, "url": webhook.url, "request_method": webhook.request_method,
                "content_type": webhook.content_type, "payload_format": webhook.payload_format,
                "events": webhook.events, "username": webhook.username, "enabled": webhook.enabled}
