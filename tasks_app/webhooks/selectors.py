"""Reading webhooks: a user's endpoints and each one's delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import WebhookDelivery, WebhookEndpoint


def webhook_list(*, user) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(user=user).order_by("id")


def webhook_get(*, user, endpoint_id: int) -> WebhookEndpoint:
    return WebhookEndpoint.objects.get(user=user, pk=endpoint_id)


def webhook_deliveries(*, user, endpoint_id: int, limit: int = 50) -> list[WebhookDelivery]:
    """The newest deliveries of one of `user`'s endpoints (DoesNotExist for another user's)."""
    endpoint = webhook_get(user=user, endpoint_id=endpoint_id)
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")[:limit])
