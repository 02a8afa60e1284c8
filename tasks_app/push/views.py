"""/sw.js (the service worker that shows pushes) and the settings page's list of push browsers."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST, require_safe

from . import selectors, services

SERVICE_WORKER = (Path(__file__).with_name("sw.js")).read_text()


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from the site root, so its scope is the whole site; a JavaScript type, or browsers refuse
    to register it (nosniff is on).  no-cache: browsers check it for updates on each registration."""
    response = HttpResponse(SERVICE_WORKER, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def settings_context(user) -> dict:
    return {"push_subscriptions": list(selectors.push_subscription_list(user=user))}


@login_required
@require_POST
def push_subscription_remove(request: HttpRequest, subscription_id: int) -> HttpResponse:
    try:
        services.push_subscription_delete(user=request.user, subscription_id=subscription_id)
        messages.success(request, "Push turned off for that browser.")
    except ObjectDoesNotExist:
        messages.error(request, "No such browser among yours.")
    return redirect("account_settings")
