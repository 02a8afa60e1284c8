"""The HTML pages of tasks: sign-up and the live dashboard (a shell around the REST API)."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from . import selectors
from .cleaning import user_timezone
from .forms import SignupForm
from .models import MAX_REMINDER_MINUTES, TITLE_MAX_LENGTH, Priority


def signup(request):
    if not settings.ALLOW_SIGNUP:
        raise Http404("sign-up is turned off on this server")
    form = SignupForm(request.POST or None)
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
        "max_reminder_minutes": MAX_REMINDER_MINUTES,
        "max_query_length": selectors.MAX_QUERY_LENGTH,
    })
