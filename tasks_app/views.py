"""The HTML pages of tasks: sign-up, the live dashboard (a shell around the REST API) and
the account settings (API tokens, password)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import accounts, selectors, services, throttling
from .calendar_feed import views as calendar_feed_views
from .cleaning import QUICK_ADD_MAX_LENGTH, timezone_names, user_timezone
from .errors import field_errors
from .webhooks import views as webhook_views
from .forms import SignupForm
from .models import MAX_REMINDER_MINUTES, TITLE_MAX_LENGTH, Priority, WeekStart
from .push import views as push_views


def signup(request):
    if not settings.ALLOW_SIGNUP:
        raise Http404("sign-up is turned off on this server")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        try:
            throttling.signup_check(request, request.POST.get("username"))
        except throttling.Throttled as exc:
            return throttling.throttled_response(exc)
    if request.method == "POST" and form.is_valid():
        user = form.register()
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form})


# The dashboard's sort choices: "" leaves it to the API (best match when searching, else newest first).
DASHBOARD_SORTS = [
    ("", "Best match, else newest"),
    ("created_at", "Oldest first"),
    ("due_at", "Due soonest"),
    ("-due_at", "Due latest"),
    ("priority", "Priority, P1 first"),
    ("-priority", "Priority, P4 first"),
    ("title", "Title, A to Z"),
    ("-updated_at", "Recently changed"),
]


@login_required
def tasks_dashboard(request):
    """The live task dashboard.  The page is a shell: dashboard.js lists the tasks from
    /api/tasks (with the session and CSRF token), changes them through the same API and
    keeps the list current from the WebSocket at /ws/tasks/."""
    return render(request, "tasks_app/dashboard.html", {
        "time_zone": str(user_timezone(request.user)),
        "priorities": Priority.choices,
        "sorts": DASHBOARD_SORTS,
        "page_size": selectors.DEFAULT_PAGE_SIZE,
        "max_page_size": selectors.MAX_PAGE_SIZE,
        "title_max_length": TITLE_MAX_LENGTH,
        "quick_add_max_length": QUICK_ADD_MAX_LENGTH,
        "max_reminder_minutes": MAX_REMINDER_MINUTES,
        "max_query_length": selectors.MAX_QUERY_LENGTH,
    })


# Deliveries listed on the settings page (the API lists more).
RECENT_DELIVERIES = 20


def _settings_page(request, *, password_form, preference_errors=(), preferences=None, status=200):
    profile = selectors.profile_get(user=request.user)
    shown = preferences or {
        "timezone": profile.timezone,
        "default_reminder_minutes": "" if profile.default_reminder_minutes is None
        else str(profile.default_reminder_minutes),
        "quiet_hours_start": profile.quiet_hours_start.strftime("%H:%M") if profile.quiet_hours_start else "",
        "quiet_hours_end": profile.quiet_hours_end.strftime("%H:%M") if profile.quiet_hours_end else "",
        "week_start": str(profile.week_start),
        "email": request.user.email,
        "email_reminders": profile.email_reminders,
    }
    return render(request, "tasks_app/settings.html", {
        "tokens": accounts.api_token_list(user=request.user), "password_form": password_form,
        "preferences": shown, "preference_errors": preference_errors,
        "zones": sorted(timezone_names().values()), "week_starts": WeekStart.choices,
        "max_reminder_minutes": MAX_REMINDER_MINUTES,
        "email_enabled": settings.EMAIL_ENABLED,
        "deliveries": selectors.notification_delivery_list(user=request.user, limit=RECENT_DELIVERIES),
        **webhook_views.settings_context(request.user),
        **calendar_feed_views.settings_context(request),
        **push_views.settings_context(request.user),
    }, status=status)


@login_required
def account_settings(request):
    """Your preferences (time zone, reminders, quiet hours, week start, email reminders and their delivery
    log), your API tokens (revoke any)
    and your password (changing it revokes every token)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Saving the new password revokes the user's tokens (accounts.RevokeTokensOnPasswordChange).
        user = form.save()
        update_session_auth_hash(request, user)  # this browser stays signed in; the others are not
        messages.success(request, "Password changed; your API tokens were revoked.")
        return redirect("account_settings")
    return _settings_page(request, password_form=form)


def _whole_number(text: str) -> int | str:
    """A posted number as an int, or the text itself for the service to refuse by name."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text


@login_required
@require_POST
def update_preferences(request):
    """The settings page's preferences form: services.profile_update with what was posted; a bad
    value shows the page again (422) with the message naming the field and nothing saved."""
    posted = {name: request.POST.get(name, "") for name in services.PROFILE_FIELDS}
    minutes = posted["default_reminder_minutes"].strip()
    changes = {
        "timezone": posted["timezone"],
        # Empty: reminders asked for without minutes come at the due time.
        "default_reminder_minutes": None if not minutes else _whole_number(minutes),
        "quiet_hours_start": posted["quiet_hours_start"] or None,
        "quiet_hours_end": posted["quiet_hours_end"] or None,
        "week_start": _whole_number(posted["week_start"]),
        "email": posted["email"],
        # A checkbox: sent only when ticked.
        "email_reminders": "email_reminders" in request.POST,
    }
    try:
        change = services.profile_update(user=request.user, **changes)
    except ValidationError as exc:
        errors = [f"{(field or '').replace('_', ' ')}: {message}" for field, message in field_errors(exc)]
        posted["email_reminders"] = changes["email_reminders"]
        return _settings_page(request, password_form=PasswordChangeForm(request.user),
                              preference_errors=errors, preferences=posted, status=422)
    messages.success(request, change.note or "Preferences saved.")
    return redirect("account_settings")


@login_required
@require_POST
def revoke_token(request, token_id: int):
    try:
        accounts.api_token_revoke(user=request.user, token_id=token_id)
    except ObjectDoesNotExist:
        raise Http404("token not found") from None
    messages.success(request, "Token revoked.")
    return redirect("account_settings")
