"""A robot's trust policies in the web UI: which CI issuers' ID tokens it accepts, on which claims."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User
from federation import keyless, trust
from federation.models import TrustPolicy
from namespaces import policy
from web.forms import BootstrapMixin, apply_errors
from web.views import ui_login_required


class TrustPolicyForm(BootstrapMixin, forms.Form):
    issuer = forms.ChoiceField(label="Issuer")
    audience = forms.CharField(label="Audience", required=False, max_length=500,
                               help_text="The <code>aud</code> tokens must carry. Empty: this Portus's own audience.")
    rules = forms.CharField(label="Rules", max_length=TrustPolicy.MAX_RULES_LENGTH,
                            widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
                            help_text='Claims the token must carry, e.g. <code>repository == "acme/app" and '
                                      'ref == "refs/heads/main"</code>; operators <code>==</code>, <code>!=</code>, '
                                      '<code>=~</code> (glob with <code>*</code>, <code>?</code>), joined by '
                                      '<code>and</code>, <code>or</code>.')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].choices = [(i, i) for i in keyless.configured_issuers()]
        self.fields["audience"].widget.attrs["placeholder"] = keyless.instance_audience()


def _robot(request, pk: int) -> User:
    robot = get_object_or_404(User, pk=pk)
    if not policy.can_manage_trust_policies(request.user, robot):
        raise Http404
    return robot


def _url_names(robot: User) -> tuple[str, str]:
    """A namespace's robot has its pages beside the robot's; other bots under the admin's user pages."""
    if robot.is_robot and robot.robot_namespace_id is not None:
        return "robot-trust-policies", "robot-trust-policy-delete"
    return "trust-policies", "trust-policy-delete"


def _page(request, robot: User, form: TrustPolicyForm, status: int = 200):
    page_name, delete_name = _url_names(robot)
    return render(request, "federation/trust_policies.html", {
        "robot": robot, "form": form, "policies": list(TrustPolicy.objects.filter(robot=robot)[:50]),
        "audience": keyless.instance_audience(), "page_name": page_name, "delete_name": delete_name,
    }, status=status)


@ui_login_required
def policies(request, pk: int):
    robot = _robot(request, pk)
    form = TrustPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            trust.trust_policy_create(robot=robot, issuer=form.cleaned_data["issuer"],
                                      audience=form.cleaned_data["audience"], rule_text=form.cleaned_data["rules"],
                                      by=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{robot.username} now accepts matching ID tokens of "
                                      f"{form.cleaned_data['issuer']}.")
            return redirect(_url_names(robot)[0], pk=robot.pk)
    return _page(request, robot, form, status=400 if request.method == "POST" else 200)


@ui_login_required
@require_POST
def policy_delete(request, pk: int, policy_pk: int):
    robot = _robot(request, pk)
    found = get_object_or_404(TrustPolicy, pk=policy_pk, robot=robot)
    trust.trust_policy_delete(policy=found, by=request.user)
    messages.success(request, f"The trust policy for {found.issuer} is removed.")
    return redirect(_url_names(robot)[0], pk=robot.pk)
