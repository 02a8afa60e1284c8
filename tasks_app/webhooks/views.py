"""The settings page's webhook controls (signed-in browser): add, turn on/off, rotate, delete, redeliver."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ..errors import QuotaExceeded, error_message
from . import services

DELIVERIES_SHOWN = 5


def settings_context(user) -> dict:
    """What the settings page shows of a user's webhooks: each endpoint and its latest deliveries."""
    from . import selectors

    endpoints = list(selectors.webhook_list(user=user))
    for endpoint in endpoints:
        endpoint.recent_deliveries = selectors.webhook_deliveries(user=user, endpoint_id=endpoint.pk,
                                                                  limit=DELIVERIES_SHOWN)
    return {"webhooks": endpoints, "webhook_event_types": services.EVENT_TYPES}


def _act(request, action, done: str):
    try:
        result = action()
    except ObjectDoesNotExist:
        raise Http404("webhook not found") from None
    except (ValidationError, QuotaExceeded) as exc:
        messages.error(request, f"Webhook: {error_message(exc)}")
        return None
    messages.success(request, done)
    return result


@login_required
@require_POST
def webhook_add(request):
    endpoint = _act(request, lambda: services.webhook_create(
        user=request.user, url=request.POST.get("url", ""), event_types=request.POST.getlist("event_types"),
        description=request.POST.get("description", "")), "Webhook added.")
    if endpoint is not None:
        messages.info(request, f"Its signing secret (shown once): {endpoint.secret}")
    return redirect("account_settings")


@login_required
@require_POST
def webhook_toggle(request, endpoint_id: int):
    turn_on = request.POST.get("is_active") == "on"
    _act(request, lambda: services.webhook_update(user=request.user, endpoint_id=endpoint_id, is_active=turn_on),
         "Webhook turned on." if turn_on else "Webhook turned off.")
    return redirect("account_settings")


@login_required
@require_POST
def webhook_rotate(request, endpoint_id: int):
    endpoint = _act(request, lambda: services.webhook_rotate_secret(user=request.user, endpoint_id=endpoint_id),
                    "New secret made; the old one keeps signing for a while, so switch your receiver over.")
    if endpoint is not None:
        messages.info(request, f"The new signing secret (shown once): {endpoint.secret}")
    return redirect("account_settings")


@login_required
@require_POST
def webhook_delete(request, endpoint_id: int):
    _act(request, lambda: services.webhook_delete(user=request.user, endpoint_id=endpoint_id), "Webhook deleted.")
    return redirect("account_settings")


@login_required
@require_POST
def webhook_redeliver(request, delivery_id: int):
    _act(request, lambda: services.webhook_redeliver(user=request.user, delivery_id=delivery_id),
         "The delivery will be sent again.")
    return redirect("account_settings")
