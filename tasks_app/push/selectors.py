"""Reading push subscriptions: always one user's."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import PushSubscription


def push_subscription_list(*, user) -> QuerySet[PushSubscription]:
    return PushSubscription.objects.filter(user=user).order_by("id")


def push_subscription_exists(*, user) -> bool:
    return PushSubscription.objects.filter(user=user).exists()
