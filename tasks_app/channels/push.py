"""Reminders by Web Push to every browser the user enabled it in (tasks_app.push).

A notice counts as delivered when at least one browser's push service accepted it; a browser whose
push service answered 404/410 has dropped the subscription, which is deleted (tasks_app.push.services).
When none accepted it: retryable if any failure was (429, 5xx, no answer), else final.  Each message
carries Topic and a notification tag, so a retry replaces a copy still queued or shown rather than
adding a second one.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from ..models import PushSubscription
from ..push import selectors, services
from .base import ChannelError


def users_for_wanted(users):
    """`users` annotated with `has_push_subscription`, read by wanted(): one EXISTS per user in the
    same query, instead of one query per user of a claim."""
    return users.annotate(has_push_subscription=Exists(PushSubscription.objects.filter(user=OuterRef("pk"))))


def wanted(user) -> bool:
    """The user enabled push in at least one browser (that has not dropped it since)."""
    known = getattr(user, "has_push_subscription", None)
    return known if known is not None else selectors.push_subscription_exists(user=user)


def deliver(delivery) -> None:
    """Send one delivery (anything with `.user` and `.notification`); ChannelError when no browser got it."""
    notification = delivery.notification
    results = services.push_send_to_user(user=delivery.user, payload=services.notification_payload(notification),
                                         topic=f"notification-{notification.pk}", urgency="high")
    if not results:
        raise ChannelError("no browser has push enabled any more", retryable=False)
    if any(result.delivered for result in results):
        return
    raise ChannelError("; ".join(result.error for result in results)[:500],
                       retryable=any(result.retryable for result in results))
