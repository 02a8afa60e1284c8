"""Notification deliveries on the channels beyond the in-app notice (email; Web Push when registered).

The flow, like the webhooks' (tasks_app.webhooks.services):

1. The reminder claim (services.notifications.reminders_claim_due) calls deliveries_create in its
   own transaction: one pending row per (notification, channel the user wants), in one INSERT.
   UNIQUE (notification, channel) means a notice can never be queued twice on a channel.
2. After commit a coalesced job (workers.deliver_notifications) runs; beat runs it too, every
   NOTIFICATION_SCAN_INTERVAL, for retries and for a kick lost with Redis.
3. deliveries_claim_due takes due pending rows FOR UPDATE SKIP LOCKED and marks them `sending` with a
   lease, in one short transaction: two workers never hold the same row.
4. delivery_send calls the channel (outside any transaction: a slow SMTP server holds no lock) and
   records the outcome: sent; pending again with exponential backoff and jitter (a retryable
   ChannelError, until NOTIFICATION_MAX_ATTEMPTS); or failed (attempts ran out, or a non-retryable
   error such as a refused address).
5. A row left `sending` past its lease (its worker died mid-send) is marked failed, not sent again:
   the message may have gone out, and a notice is never sent twice on a channel (at most once).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .. import channels
from ..channels.base import ChannelError
from ..models import DELIVERY_ERROR_MAX_LENGTH, Notification, NotificationDelivery
from ..signals import notification_deliveries_created

logger = logging.getLogger(__name__)
Status = NotificationDelivery.Status


def deliveries_create(*, notifications: Sequence[Notification], now: datetime | None = None) -> int:
    """Queue each notification on every channel its user wants (inside the caller's transaction).
    One query for the users (with profiles) and one INSERT, however many notices the claim made."""
    if not notifications:
        return 0
    now = now or timezone.now()
    registered = channels.registered()
    users = get_user_model().objects.filter(pk__in={n.user_id for n in notifications}).select_related("profile")
    for channel in registered.values():
        if hasattr(channel, "users_for_wanted"):
            users = channel.users_for_wanted(users)
    wanted = {user.pk: [name for name, channel in registered.items() if channel.wanted(user)] for user in users}
    rows = [NotificationDelivery(notification=notification, user_id=notification.user_id, channel=name,
                                 next_attempt_at=now)
            for notification in notifications for name in wanted.get(notification.user_id, ())]
    if rows:
        # ignore_conflicts: a caller re-queuing a notice (none today) finds it already there.
        NotificationDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        notification_deliveries_created.send(sender=NotificationDelivery, count=len(rows))
    return len(rows)


def deliveries_claim_due(*, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Mark up to `limit` due pending deliveries `sending` (leased until now + the lease) and return
    their ids.  Rows another worker is claiming are skipped, never waited for nor taken twice.
    Also gives up on deliveries whose sending worker died (step 5 of the module docstring)."""
    now = now or timezone.now()
    with transaction.atomic():
        NotificationDelivery.objects.filter(status=Status.SENDING, next_attempt_at__lt=now).update(
            status=Status.FAILED, next_attempt_at=None,
            last_error="the worker stopped while sending; not sent again, as it may have gone out")
        due = (NotificationDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        ids = list(due)
        if ids:
            lease = now + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
            NotificationDelivery.objects.filter(pk__in=ids).update(status=Status.SENDING, next_attempt_at=lease)
    return ids


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter (half fixed, half random), capped."""
    backoff = min(settings.NOTIFICATION_RETRY_MAX_SECONDS, settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    return timedelta(seconds=backoff / 2 + random.uniform(0, backoff / 2))


def delivery_send(*, delivery_id: int) -> str | None:
    """Send one claimed (`sending`) delivery on its channel and record the outcome; returns the new
    status, or None when the row is not this caller's to send (not `sending` any more)."""
    delivery = (NotificationDelivery.objects.select_related("notification", "user__profile")
                .filter(pk=delivery_id, status=Status.SENDING).first())
    if delivery is None:
        return None
    channel = channels.registered().get(delivery.channel)
    error: ChannelError | None = None
    try:
        if channel is None:
            raise ChannelError(f"channel {delivery.channel!r} is not available on this server", retryable=False)
        channel.deliver(delivery)
    except ChannelError as exc:
        error = exc
    except SoftTimeLimitExceeded:
        # The job's time is up mid-send: the row stays `sending` until its lease ends and is then given
        # up (it may have gone out), rather than recorded as a failure and sent again.
        raise
    except Exception as exc:  # a bug in a channel: recorded on the row and retried, never lost in `sending`
        logger.exception("notification delivery %s on %s failed unexpectedly", delivery.pk, delivery.channel)
        error = ChannelError(f"internal error: {type(exc).__name__}")
    return _record(delivery, error, now=timezone.now())


def _record(delivery: NotificationDelivery, error: ChannelError | None, *, now: datetime) -> str | None:
    attempts = delivery.attempts + 1
    if error is None:
        changes = {"status": Status.SENT, "sent_at": now, "next_attempt_at": None, "last_error": ""}
    elif error.retryable and attempts < settings.NOTIFICATION_MAX_ATTEMPTS:
        changes = {"status": Status.PENDING, "next_attempt_at": now + retry_delay(attempts),
                   "last_error": str(error)[:DELIVERY_ERROR_MAX_LENGTH]}
    else:
        changes = {"status": Status.FAILED, "next_attempt_at": None, "last_error": str(error)[:DELIVERY_ERROR_MAX_LENGTH]}
    # Only while still ours (`sending`): a row given up on meanwhile keeps that outcome.
    updated = NotificationDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(attempts=attempts, **changes)
    return changes["status"] if updated else None


def deliveries_release(*, delivery_ids: Iterable[int]) -> None:
    """Give back claims this run will not use (it ran out of time): pending again, due now."""
    NotificationDelivery.objects.filter(pk__in=list(delivery_ids), status=Status.SENDING).update(
        status=Status.PENDING, next_attempt_at=timezone.now())
