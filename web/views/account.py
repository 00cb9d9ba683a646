"""Getting in and out (sign in, sign up, sign out, password reset) and the user's own profile and tokens."""

from __future__ import annotations

import shlex

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import credentials
from accounts.models import ApplicationToken, RefreshToken, User, record_failed_login
from accounts.services import (
    application_token_create,
    application_token_revoke,
    first_user_lock,
    refresh_token_revoke,
    user_create,
    user_update,
)
from namespaces import policy
from portus.options import option
from ratelimits.addresses import address_key
from ratelimits.services import failure_record, failure_wait
from registries.models import Registry
from twofactor.views.second_step import second_step_or_none
from web.forms import (
    ApplicationTokenForm,
    PasswordChangeForm,
    PortusPasswordResetForm,
    PortusSetPasswordForm,
    ProfileForm,
    SignInForm,
    SignUpForm,
    apply_errors,
)
from web.views import paginate, ui_login_required

BACKEND = "accounts.backends.PortusBackend"


def _too_many(response, retry_after: int):
    """A form page answered 429: the client's address has used up its failure budget (ratelimits)."""
    response.status_code = 429
    response["Retry-After"] = str(retry_after)
    return response


def _rate_limit_message(wait: int) -> str:
    return credentials.Verified(None, credentials.Failure.RATE_LIMITED, retry_after=wait).message


def instance_is_empty() -> bool:
    """No account yet but the internal `portus` one: the next sign-up may become the first admin.

    For what a page shows only; the decision itself is taken under accounts.services.first_user_lock.
    """
    return not User.objects.exclude(username=User.INTERNAL_USERNAME).exists()


class SignInView(auth_views.LoginView):
    template_name = "account/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated and option("signup.enabled") and instance_is_empty():
            return redirect("sign_up")
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        if (second_step := second_step_or_none(self.request, form.get_user(),
                                               next_url=self.get_success_url())) is not None:
            return second_step
        self.request.portus_sign_in_method = "password"  # recorded as the sign-in's method (twofactor.audit)
        response = super().form_valid(form)
        user = form.get_user()
        User.objects.filter(pk=user.pk).update(current_sign_in_at=timezone.now())
        return response  # the sign-in is audited by twofactor/audit.py, with its method

    def form_invalid(self, form):
        # Audited by twofactor/audit.py, for names that match an account only (never a typed password).
        result = getattr(self.request, "portus_login_result", None)
        if result is None or result.failure is not credentials.Failure.RATE_LIMITED:
            return super().form_invalid(form)
        form.errors.clear()
        form.add_error(None, result.message)
        return _too_many(self.render_to_response(self.get_context_data(form=form)), result.retry_after)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["empty_instance"] = instance_is_empty()
        return context


sign_in = SignInView.as_view()


@require_POST
def sign_out(request):
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


def sign_up(request):
    if not option("signup.enabled") or not option("oauth.local_login.enabled"):
        raise Http404("Sign-up is disabled.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    first_admin = option("first_user_admin.enabled") and instance_is_empty()
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                # Asked again, under the lock the API bootstrap takes too, in the transaction that creates
                # the account: of simultaneous sign-ups on an empty instance exactly one becomes admin.
                first_admin = bool(option("first_user_admin.enabled")) and first_user_lock()
                user = user_create(username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                                   password=form.cleaned_data["password"], admin=first_admin)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            login(request, user, backend=BACKEND)
            if user.admin:
                messages.success(request, "Welcome! You are the first user, and so an administrator. "
                                          "Add your registry next.")
                return redirect("admin-registry-new" if not Registry.objects.exists() else "dashboard")
            messages.success(request, "Welcome! Your account is ready.")
            return redirect("dashboard")
    return render(request, "account/sign_up.html", {"form": form, "first_admin": first_admin})


# --- password reset by email (Django's views, our templates) ------------------------------------

def mail_to_console() -> bool:
    """Whether mail goes to the server's console (email.backend "console", the default) instead of a mail
    server: the pages that send mail say so, so that a developer looks in the log and not in a mailbox.
    Called by the templates at each render (settings may change under tests)."""
    return settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"


_password_reset = auth_views.PasswordResetView.as_view(
    extra_context={"mail_to_console": mail_to_console},
    template_name="account/password_reset.html",
    email_template_name="account/password_reset_email.txt",
    subject_template_name="account/password_reset_subject.txt",
    form_class=PortusPasswordResetForm,
    success_url=reverse_lazy("password_reset_done"),
)


def password_reset(request, *args, **kwargs):
    """Django's reset request; every POST counts against the address's failure budget, so that no one
    can send mail to a mailbox (or probe addresses) without limit."""
    if request.method == "POST":
        address = address_key(request)
        wait = failure_wait(address=address)
        if wait:
            form = PortusPasswordResetForm(request.POST)
            form.errors.clear()  # an email field's own checks; nothing is looked up or sent
            form.add_error(None, _rate_limit_message(wait))
            return _too_many(render(request, "account/password_reset.html", {"form": form}), wait)
        failure_record(address=address)
    return _password_reset(request, *args, **kwargs)


password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="account/password_reset_done.html",
                                                              extra_context={"mail_to_console": mail_to_console})
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="account/password_reset_confirm.html",
    form_class=PortusSetPasswordForm,
    success_url=reverse_lazy("password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="account/password_reset_complete.html"
)


# --- the profile ----------------------------------------------------------------------------------


def password_managed_elsewhere(user: User) -> str | None:
    """Why the profile offers this account no password change, or None: an LDAP account's password is the
    directory's, and an account made by single sign-on has none here."""
    from ldapauth.models import LdapAccount

    if LdapAccount.objects.filter(user_id=user.pk).exists():
        return ("Your password is the one of your organisation's directory (LDAP): change it there, with "
                "the directory's own tools. Portus checks it against the directory at each sign-in.")
    if not user.has_usable_password():
        return ("Your account has no password here: you sign in with single sign-on, and your password is "
                "managed by that provider. For docker login and the API, use an application token.")
    return None


def _profile_page(request, *, profile_form=None, password_form=None, token_form=None, status=200):
    user = request.user
    elsewhere = password_managed_elsewhere(user)
    tokens = paginate(request, ApplicationToken.objects.filter(user=user).select_related("created_by")
                      .order_by("application"),
                      param="tokens_page")
    clients = paginate(request, RefreshToken.objects.of_user(user).select_related("application_token")
                       .order_by("-created_at", "-pk"), param="clients_page")
    context = {
        "profile_form": profile_form or ProfileForm(initial={"email": user.email, "display_name": user.display_name}),
        "password_form": None if elsewhere else (password_form or PasswordChangeForm(user)),
        "password_elsewhere": elsewhere,
        "token_form": token_form or ApplicationTokenForm(),
        "tokens": tokens,
        "clients": clients,
        "refresh_idle_days": option("refresh_tokens.idle_days"),
        "refresh_max_days": option("refresh_tokens.max_lifetime_days"),
        "registry": Registry.default(),
        "now": timezone.now(),
    }
    return render(request, "account/profile.html", context, status=status)


@ui_login_required
def profile(request):
    if request.method != "POST":
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            user_update(user=request.user, by=request.user, email=form.cleaned_data["email"],
                        display_name=form.cleaned_data["display_name"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("profile")
    return _profile_page(request, profile_form=form, status=400)


@ui_login_required
@require_POST
def password_change(request):
    """The current password is checked like a login: refused while the account is locked or the address
    is over its budget, and a wrong one counts towards both."""
    user, address = request.user, address_key(request)
    if password_managed_elsewhere(user):
        messages.error(request, "This account's password is not changed here.")
        return _profile_page(request, status=403)
    # Decided before the form is validated: validating it checks the current password.
    if wait := failure_wait(address=address):
        messages.error(request, _rate_limit_message(wait))
        return _too_many(_profile_page(request, status=429), wait)
    if user.is_locked():
        wait = max(1, int((user.locked_until - timezone.now()).total_seconds()))
        messages.error(request, "Too many wrong passwords: this account's password checks are paused. "
                                "Try again later.")
        return _too_many(_profile_page(request, status=429), wait)
    form = PasswordChangeForm(user, request.POST)
    if not form.is_valid() and request.POST.get("current_password") and "current_password" in form.errors:
        record_failed_login(user.pk)
        failure_record(address=address)
    elif form.is_valid():
        try:
            user_update(user=request.user, by=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "Password changed.")
            return redirect("profile")
    return _profile_page(request, password_form=form, status=400)


def login_commands(*, username: str, plain: str, host: str) -> tuple[str, str]:
    """The `docker login` lines for a new token, quoted for a POSIX shell (a robot's name holds a `$`)."""
    stdin = f"docker login -u {shlex.quote(username)} --password-stdin {shlex.quote(host)}"
    # A token is URL-safe base64 (no quote inside), so single quotes always hold it.
    return stdin, f"echo '{plain}' | {stdin}"


def render_token_created(request, *, token: ApplicationToken, plain: str, back_url: str):
    """The page that shows a new token's secret: in this response only (never stored, never redirected
    through a session), with the login lines to copy."""
    registry = Registry.default()
    context = {"token": token, "plain": plain, "owner": token.user, "registry": registry, "back_url": back_url}
    if registry is not None:
        context["login_stdin"], context["login_echo"] = login_commands(
            username=token.user.username, plain=plain, host=registry.reference_host)
    return render(request, "account/token_created.html", context, status=201)


@never_cache
@ui_login_required
@require_POST
def token_create(request):
    form = ApplicationTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plain = application_token_create(user=request.user, application=form.cleaned_data["application"],
                                                    by=request.user, **form.scopes())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render_token_created(request, token=token, plain=plain, back_url=reverse("profile"))
    return _profile_page(request, token_form=form, status=400)


@ui_login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApplicationToken.objects.select_related("user"), pk=pk, user=request.user)
    if not policy.can_manage_tokens_of(request.user, token.user):
        raise Http404
    application_token_revoke(token=token, by=request.user)
    messages.success(request, f"The token for {token.application} is revoked.")
    return redirect("profile")


@ui_login_required
@require_POST
def client_revoke(request, pk: int):
    """Signs out one client (a refresh token): one's own, or anyone's for an admin."""
    token = RefreshToken.objects.select_related("user").filter(pk=pk).first()
    if token is None or not policy.can_manage_tokens_of(request.user, token.user):
        raise Http404
    refresh_token_revoke(token=token, by=request.user)
    messages.success(request, f"{token.client_id or 'The client'} ({token.prefix}…) is signed out.")
    if token.user_id != request.user.pk:
        return redirect("admin-user", token.user_id)
    return redirect("profile")
