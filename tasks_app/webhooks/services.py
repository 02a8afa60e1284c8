"""Webhooks: endpoints a user registers, and the deliveries of their events, signed per the
Standard Webhooks spec (https://www.standardwebhooks.com: webhook-id, webhook-timestamp,
webhook-signature).

Deliveries are made from the outbox: the job that writes a transaction's audit rows also writes
one delivery per (event, matching endpoint), unique in the database, so an event reaches an
endpoint once however often that job runs.  A delivery job claims due deliveries (a lease, so a
crashed worker's claim runs out), posts them, and records the outcome: 2xx done; 4xx (except 408
and 429) failed for good; anything else retried with exponential backoff and jitter, at least as
late as the receiver's Retry-After, until WEBHOOK_MAX_ATTEMPTS.  After
WEBHOOK_DISABLE_AFTER_FAILURES failures in a row the endpoint is disabled and its owner told.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from .. import events
from ..cleaning import clean_text
from ..errors import quota_check
from ..models import Notification, OutboxEvent, WebhookDelivery, WebhookEndpoint
from ..signals import webhook_deliveries_created
from . import network

EVENT_TYPES = (events.TASK_CREATED, events.TASK_UPDATED, events.TASK_COMPLETED, events.TASK_REOPENED,
               events.TASK_DELETED, events.TASK_UNDONE, events.REMINDER_DUE)
Status = WebhookDelivery.Status


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --------------------------------------------------------------------------- endpoints


def _clean_url(url) -> str:
    clean_text("url", url if isinstance(url, str) else "", max_length=2000)
    try:
        return network.check_url(url)
    except network.WebhookURLError as exc:
        raise ValidationError({"url": [str(exc)]}) from None


def _clean_event_types(event_types) -> list[str]:
    if event_types is None:
        return []
    if isinstance(event_types, str) or not isinstance(event_types, Iterable):
        raise ValidationError({"event_types": ["must be a list of event types"]})
    chosen = list(dict.fromkeys(event_types))
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise ValidationError({"event_types": [f"unknown event type {str(unknown[0])[:64]!r}; choose from "
                                               f"{', '.join(EVENT_TYPES)}"]})
    return chosen


def _clean_description(description) -> str:
    return clean_text("description", description or "", max_length=200).strip()


@transaction.atomic
def webhook_create(*, user, url: str, event_types: Iterable[str] | None = None, description: str = "") -> WebhookEndpoint:
    quota_check(used=WebhookEndpoint.objects.filter(user=user).count(), limit=settings.QUOTA_WEBHOOKS_PER_USER,
                what="webhooks per user", hint="delete one to add another")
    return WebhookEndpoint.objects.create(user=user, url=_clean_url(url), event_types=_clean_event_types(event_types),
                                          description=_clean_description(description), secret=new_secret())


def _owned(user, endpoint_id: int) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(user=user, pk=endpoint_id)


@transaction.atomic
def webhook_update(*, user, endpoint_id: int, **changes) -> WebhookEndpoint:
    """Change url, event_types, description or is_active; turning an endpoint on again clears its
    failure count, and its pending deliveries go out again."""
    endpoint = _owned(user, endpoint_id)
    if "url" in changes:
        endpoint.url = _clean_url(changes["url"])
    if "event_types" in changes:
        endpoint.event_types = _clean_event_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = _clean_description(changes["description"])
    if "is_active" in changes:
        if not isinstance(changes["is_active"], bool):
            raise ValidationError({"is_active": ["must be true or false"]})
        if changes["is_active"] and not endpoint.is_active:
            endpoint.consecutive_failures, endpoint.disabled_reason = 0, ""
        endpoint.is_active = changes["is_active"]
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_delete(*, user, endpoint_id: int) -> None:
    _owned(user, endpoint_id).delete()


@transaction.atomic
def webhook_rotate_secret(*, user, endpoint_id: int) -> WebhookEndpoint:
    """A new secret; the old one keeps signing too for WEBHOOK_SECRET_OVERLAP_HOURS."""
    endpoint = _owned(user, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    endpoint.secret = new_secret()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_redeliver(*, user, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now, with a fresh set of attempts (whatever its state)."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id, endpoint__user=user)
    delivery.status, delivery.attempts, delivery.leased_until = Status.PENDING, 0, None
    delivery.next_attempt_at = timezone.now()
    delivery.save()
    return delivery


# --------------------------------------------------------------------------- deliveries


def deliveries_create(*, outbox_events: Iterable[OutboxEvent]) -> int:
    """One pending delivery per (event, active endpoint of the event's user that wants its type).
    Idempotent (a unique constraint): a job that runs twice creates nothing twice."""
    by_user: dict[int, list[OutboxEvent]] = {}
    for event in outbox_events:
        if event.user_id is not None and event.type in EVENT_TYPES:
            by_user.setdefault(event.user_id, []).append(event)
    if not by_user:
        return 0
    now = timezone.now()
    rows = []
    for endpoint in WebhookEndpoint.objects.filter(user_id__in=by_user, is_active=True):
        for event in by_user[endpoint.user_id]:
            if not endpoint.event_types or event.type in endpoint.event_types:
                rows.append(WebhookDelivery(endpoint=endpoint, event_id=event.event_id, event_type=event.type,
                                            payload=event.payload, next_attempt_at=now))
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        webhook_deliveries_created.send(sender=WebhookDelivery, count=len(rows))
    return len(rows)


def deliveries_claim_due(*, now: datetime | None = None, limit: int = 50) -> list[int]:
    """Lease up to `limit` due deliveries, at most WEBHOOK_MAX_PER_ENDPOINT_PER_RUN of each endpoint,
    so one user's slow or busy endpoint cannot hold everyone else's back.  A delivery another worker
    leased meanwhile is skipped (the UPDATE re-checks the lease on the locked row)."""
    now = now or timezone.now()
    deliveries, endpoints = WebhookDelivery._meta.db_table, WebhookEndpoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {deliveries} SET leased_until = %(lease)s
            WHERE id IN (
                SELECT id FROM (
                    SELECT d.id, row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS nth
                    FROM (SELECT * FROM {deliveries}
                          WHERE status = 'pending' AND next_attempt_at <= %(now)s
                          ORDER BY next_attempt_at LIMIT %(scan)s) d
                    JOIN {endpoints} e ON e.id = d.endpoint_id AND e.is_active
                    WHERE d.leased_until IS NULL OR d.leased_until < %(now)s
                ) ranked
                WHERE nth <= %(per_endpoint)s
                LIMIT %(limit)s)
              AND status = 'pending' AND (leased_until IS NULL OR leased_until < %(now)s)
            RETURNING id""", {"lease": now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS), "now": now,
                              "scan": limit * 20, "per_endpoint": settings.WEBHOOK_MAX_PER_ENDPOINT_PER_RUN,
                              "limit": limit})
        return [row[0] for row in cursor.fetchall()]


def signed_headers(endpoint: WebhookEndpoint, *, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
    signatures = [Webhook(endpoint.secret).sign(message_id, now, body)]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        signatures.append(Webhook(endpoint.previous_secret).sign(message_id, now, body))
    return {"content-type": "application/json", "user-agent": "todo-webhooks/1",
            "webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures)}


def retry_delay(attempts: int, retry_after: str | None, *, now: datetime) -> timedelta:
    """Exponential backoff with jitter (half fixed, half random), never sooner than Retry-After
    asks (capped at WEBHOOK_RETRY_MAX_SECONDS either way)."""
    cap = settings.WEBHOOK_RETRY_MAX_SECONDS
    backoff = min(cap, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    seconds = backoff / 2 + random.uniform(0, backoff / 2)
    asked = _retry_after_seconds(retry_after, now=now)
    if asked is not None:
        seconds = max(seconds, min(asked, cap))
    return timedelta(seconds=seconds)


def _retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value[:9])
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def _retryable(status: int | None) -> bool:
    return status is None or status >= 500 or status in (408, 429)


@dataclass
class _Request:
    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def _prepare(delivery: WebhookDelivery, now: datetime) -> _Request:
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    return _Request(delivery.pk, delivery.endpoint.url, body,
                    signed_headers(delivery.endpoint, message_id=str(delivery.event_id), body=body, now=now))


def deliveries_send(*, delivery_ids: Iterable[int]) -> dict[str, int]:
    """Send leased deliveries side by side (each bounded by WEBHOOK_TOTAL_TIMEOUT) and record each
    outcome; deliveries no longer pending or whose endpoint was turned off are left as they are.
    Returns how many ended in each status."""
    now = timezone.now()
    requests = [_prepare(delivery, now) for delivery in
                WebhookDelivery.objects.select_related("endpoint")
                .filter(pk__in=list(delivery_ids), status=Status.PENDING, endpoint__is_active=True)]
    outcome: dict[str, int] = {}
    if not requests:
        return outcome
    # Network only in the threads: the database is read and written here, on this connection.
    with ThreadPoolExecutor(max_workers=len(requests), thread_name_prefix="webhook") as pool:
        answers = list(pool.map(lambda request: network.post(request.url, request.body, request.headers), requests))
    for request, answer in zip(requests, answers):
        status = _record(request.delivery_id, answer, now=timezone.now())
        if status:
            outcome[status] = outcome.get(status, 0) + 1
    return outcome


@transaction.atomic
def _record(delivery_id: int, answer: network.Answer, *, now: datetime) -> str | None:
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id, status=Status.PENDING).first()
    if delivery is None:
        return None  # redelivered or changed meanwhile: that outcome stands
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.leased_until = now, None
    delivery.last_status_code, delivery.last_response_ms = answer.status, answer.elapsed_ms
    succeeded = answer.status is not None and 200 <= answer.status < 300
    if succeeded:
        delivery.status, delivery.delivered_at, delivery.last_error = Status.SUCCEEDED, now, ""
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(consecutive_failures=0)
    else:
        delivery.last_error = answer.error or f"HTTP {answer.status}"
        if _retryable(answer.status) and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts, answer.retry_after, now=now)
        else:
            delivery.status = Status.FAILED
        _count_failure(delivery.endpoint_id, delivery.last_error)
    delivery.save()
    return delivery.status


def _count_failure(endpoint_id: int, error: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    # Only the update that turns it off (is_active was still true) tells the owner: once.
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    reason = f"disabled after {limit} failed deliveries in a row; last: {error}"[:300]
    disabled = (WebhookEndpoint.objects
                .filter(pk=endpoint_id, is_active=True, consecutive_failures__gte=limit)
                .update(is_active=False, disabled_reason=reason))
    if disabled:
        endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
        Notification.objects.create(user_id=endpoint.user_id, kind=Notification.Kind.WEBHOOK_DISABLED,
                                    message=f"Webhook {endpoint.url[:150]} was {reason}"[:300])


def deliveries_release(*, delivery_ids: Iterable[int]) -> None:
    """Give back leases this run will not use (it ran out of time)."""
    WebhookDelivery.objects.filter(pk__in=list(delivery_ids), status=Status.PENDING).update(leased_until=None)
