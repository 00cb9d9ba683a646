"""Forms of the account pages: sign in, sign up, profile, password, application tokens."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import credentials
from accounts.models import ROBOT_PREFIX, ApiAccess, RegistryAccess, User
from namespaces import policy


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Puts a service's ValidationError on the form: on the field it names, or above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class BootstrapMixin:
    """Bootstrap's classes on every widget, and `is-invalid` on the fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        # Errors a service raises after validation land here too.
        for name in self.errors:
            widget = self.fields[name].widget if name in self.fields else None
            if widget is not None and "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


# Checks of a password sign-in after the password was right, plugged in when Django starts (federation:
# oauth.local_login.enabled). Each takes the user and answers why they may not sign in, or None.
SIGN_IN_CHECKS: list = []


class SignInForm(BootstrapMixin, AuthenticationForm):
    """Django's sign-in form, with Portus's reasons for a refusal and no web login for bots."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": credentials.MESSAGES[credentials.Failure.INVALID],
        "no_ui": "This account is for the registry and the API only; it cannot sign in here.",
        "robot": "Robot accounts have no web sign-in: they log in with an application token, with docker "
                 "login or the API.",
    }

    def clean(self):
        # Said before any password check: a robot has none, and the name's form alone tells a robot.
        if (self.cleaned_data.get("username") or "").startswith(ROBOT_PREFIX):
            raise ValidationError(self.error_messages["robot"], code="robot")
        return super().clean()

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "User name"
        self.fields["username"].widget.attrs.update({"autocapitalize": "none", "spellcheck": "false"})

    def get_invalid_login_error(self):
        failure = getattr(self.request, "portus_login_failure", None)
        if failure is credentials.Failure.DISABLED:
            # Only after the right password (accounts/credentials.py): a wrong one reads as any other.
            return ValidationError(f"{credentials.MESSAGES[failure]} An administrator can enable it again; "
                                   "until then it cannot sign in, push or pull.", code=failure.value)
        if failure is credentials.Failure.LOCKED:
            return ValidationError(credentials.MESSAGES[failure], code=failure.value)
        return super().get_invalid_login_error()

    def confirm_login_allowed(self, user) -> None:
        if not policy.can_use_ui(user):
            raise ValidationError(self.error_messages["no_ui"], code="no_ui")
        for check in SIGN_IN_CHECKS:
            if (why := check(user)) is not None:
                raise ValidationError(why, code="refused")


class PasswordPairMixin:
    """Two password fields that must match and pass the configured validators."""

    def check_password_pair(self, user: User, first: str = "password", second: str = "password_confirm") -> None:
        password, again = self.cleaned_data.get(first), self.cleaned_data.get(second)
        if password and again and password != again:
            self.add_error(second, "The two passwords differ.")
        elif password:
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                self.add_error(first, exc)


class SignUpForm(BootstrapMixin, PasswordPairMixin, forms.Form):
    username = forms.CharField(
        label="User name", max_length=64,
        help_text="Lowercase letters, digits and single separators. It also names your personal namespace.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label="Password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=password_validation.password_validators_help_text_html())
    password_confirm = forms.CharField(label="Password again", strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email"))
        self.check_password_pair(candidate)
        return cleaned


class ProfileForm(BootstrapMixin, forms.Form):
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    display_name = forms.CharField(label="Display name", max_length=150, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))


class PasswordChangeForm(BootstrapMixin, PasswordPairMixin, forms.Form):
    current_password = forms.CharField(label="Current password", strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    password = forms.CharField(label="New password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=password_validation.password_validators_help_text_html())
    password_confirm = forms.CharField(label="New password again", strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, user: User, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        value = self.cleaned_data["current_password"]
        if not self.user.check_password(value):
            raise ValidationError("This is not your current password.")
        return value

    def clean(self):
        cleaned = super().clean()
        self.check_password_pair(self.user)
        return cleaned


TOKEN_LIFETIMES = [("", "Never expires"), ("30", "30 days"), ("90", "90 days"), ("365", "One year")]


class ApplicationTokenForm(BootstrapMixin, forms.Form):
    application = forms.CharField(
        label="Name", max_length=100,
        help_text="What will use the token, e.g. “CI pipeline”. Each token has its own name.",
    )
    # The page offers pull-only and no API first; a post without these fields (a script written for the
    # older form) gets what tokens could always do.
    registry_access = forms.ChoiceField(
        label="Registry", choices=RegistryAccess.choices, initial=RegistryAccess.PULL, required=False,
        help_text="The most the token may do in the registry; your role still decides.")
    api_access = forms.ChoiceField(label="API", choices=ApiAccess.choices, initial=ApiAccess.NONE, required=False)
    # 90 days suggested: a forgotten token should not work for ever.
    expires_in = forms.ChoiceField(label="Expires", choices=TOKEN_LIFETIMES, required=False, initial="90")

    def clean(self):
        data = super().clean()
        data["registry_access"] = data.get("registry_access") or RegistryAccess.PUSH
        data["api_access"] = data.get("api_access") or ApiAccess.WRITE
        if data.get("registry_access") == RegistryAccess.NONE and data.get("api_access") == ApiAccess.NONE:
            raise ValidationError("Give the token registry access, API access or both.")
        return data

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None

    def scopes(self) -> dict:
        """The keyword arguments of accounts.services.application_token_create for the chosen scopes."""
        return {"registry_access": self.cleaned_data["registry_access"],
                "api_access": self.cleaned_data["api_access"], "expires_at": self.expires_at()}


class PortusPasswordResetForm(BootstrapMixin, PasswordResetForm):
    """Django's reset form over Portus's users: enabled people with an email, never bots."""

    def get_users(self, email):
        users = User.objects.filter(email__iexact=email, enabled=True, bot=False).exclude(
            username=User.INTERNAL_USERNAME
        )
        return (user for user in users if user.has_usable_password() and user.email
                and user.email.lower() == email.lower())


class PortusSetPasswordForm(BootstrapMixin, SetPasswordForm):
    """The new password of a reset."""
