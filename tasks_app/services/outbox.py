"""Operator writes to the outbox: un-parking events the Kafka sink set aside.

The sink (workers.outbox) parks an event it cannot deliver, so that it never blocks the
events behind it; once the cause is fixed (a larger broker limit, a bug in a consumer), an
operator sends parked events again from the admin, through this function.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import OutboxEvent


def outbox_retry_parked(*, event_ids: Iterable[int]) -> int:
    """Un-park outbox events: the sink's next run sends them again, with OUTBOX_MAX_ATTEMPTS fresh
    attempts.  Returns how many were parked."""
    return (OutboxEvent.objects.filter(pk__in=list(event_ids), parked_at__isnull=False, published_at__isnull=True)
            .update(parked_at=None, attempts=0))
