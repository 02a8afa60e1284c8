"""/calendar/<token>.ics (no sign-in: the token is the credential) and the settings page's buttons."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_POST, require_safe

from .. import throttling
from . import building, services

KIND_PARAMETER = {"todo": "todo", "event": "event"}


def feed_url(request: HttpRequest, feed, *, kind: str = "todo") -> str:
    """The absolute URL of `feed` (of its VEVENT variant with kind="event")."""
    url = request.build_absolute_uri(reverse("calendar_feed", args=[services.calendar_feed_token(feed)]))
    return url if kind == "todo" else f"{url}?kind={kind}"


def _unlogged(response: HttpResponse) -> HttpResponse:
    """Keep Django from logging this 4xx with the request's path ("Too Many Requests: /calendar/<token>.ics"
    on django.request): for these answers the token in it is a live one.  The access log still has the
    request, with the path redacted."""
    response._has_been_logged = True  # django.utils.log.log_response skips a response marked so
    return response


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed of the user whose token this is: their open dated tasks as VTODOs, or as VEVENTs
    with ?kind=event.  An unknown, rotated or turned-off token is a plain 404, like any unknown URL."""
    request.log_path = "/calendar/<redacted>.ics"  # the token is a credential: kept out of the access log
    feed = services.calendar_feed_open(token)
    if feed is None:
        raise Http404("no such calendar feed")
    kind = KIND_PARAMETER.get(request.GET.get("kind", "todo"))
    if kind is None:
        return _unlogged(HttpResponseBadRequest("kind: must be todo (VTODO, the default) or event (VEVENT)",
                                                content_type="text/plain; charset=utf-8"))
    tasks = building.feed_tasks(user=feed.user)
    # A strong validator computed from what the calendar is made of, before it is written.
    # Last-Modified is sent for information only: a completed or deleted task leaves the feed without
    # making anything in it newer, so If-Modified-Since alone cannot tell that the feed changed and
    # is not answered with 304.
    etag = building.feed_fingerprint(user=feed.user, tasks=tasks, kind=kind)
    last_modified = max([task.updated_at for task in tasks] + [feed.created_at])
    response = get_conditional_response(request, etag=etag) if request.META.get("HTTP_IF_NONE_MATCH") else None
    if response is None:
        # Writing the calendar is the costly part (seconds for a full feed): bounded per feed.
        try:
            throttling.hit("calendar-feed", feed.pk, settings.THROTTLE_CALENDAR_FEED_PER_FEED, "calendar feed downloads")
        except throttling.Throttled as exc:
            return _unlogged(throttling.throttled_response(exc))
        body = building.feed_calendar(user=feed.user, tasks=tasks, kind=kind)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="tasks.ics"'
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Cache-Control"] = f"private, max-age={settings.CALENDAR_FEED_MAX_AGE_SECONDS}"
    # The URL is a secret: not to be passed on as a referrer, nor indexed if it ever leaks.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def settings_context(request: HttpRequest) -> dict:
    """What the settings page shows of the user's feed: its URLs, or None when it is off."""
    feed = services.calendar_feed_get(user=request.user)
    if feed is None:
        return {"calendar_feed_url": None, "calendar_feed_event_url": None}
    return {"calendar_feed_url": feed_url(request, feed), "calendar_feed_event_url": feed_url(request, feed, kind="event")}


@login_required
@require_POST
def calendar_feed_rotate(request: HttpRequest) -> HttpResponse:
    had_one = services.calendar_feed_get(user=request.user) is not None
    services.calendar_feed_rotate(user=request.user)
    messages.success(request, "New calendar feed URL made; the old one no longer works." if had_one
                     else "Calendar feed turned on.")
    return redirect("account_settings")


@login_required
@require_POST
def calendar_feed_turn_off(request: HttpRequest) -> HttpResponse:
    services.calendar_feed_turn_off(user=request.user)
    messages.success(request, "Calendar feed turned off; its URL no longer works.")
    return redirect("account_settings")
