"""/api/push: the server's VAPID public key, and the signed-in user's browsers' push subscriptions."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema, Status

from todo_project.problems import JSON_BODY, QUOTA_EXCEEDED, SIGNED_IN, SIGNED_IN_WRITE, documented

from ..models import PUSH_ENDPOINT_MAX_LENGTH
from ..schemas import Text
from . import selectors, services, vapid

router = Router(tags=["push"])


class PushKeyOut(Schema):
    public_key: str = Field(description="The VAPID public key (base64url): pass it as `applicationServerKey` "
                                        "to PushManager.subscribe()")


class PushKeysIn(Schema):
    p256dh: Text(200) = Field(description="The browser's P-256 public key, base64url (65 bytes)")
    auth: Text(200) = Field(description="The browser's auth secret, base64url (16 bytes)")


class PushSubscriptionIn(Schema):
    """A browser's `PushSubscription.toJSON()`, as it is."""

    endpoint: Text(PUSH_ENDPOINT_MAX_LENGTH, min_length=1) = Field(
        description="The push service URL (https, on a push service this server sends to)")
    keys: PushKeysIn
    expirationTime: float | None = Field(None, description="Ignored: a browser renews an expiring subscription")  # noqa: N815 - the browser's name


class PushSubscriptionOut(Schema):
    id: int
    endpoint: str
    user_agent: str
    created_at: datetime
    last_success_at: datetime | None


@router.get("/push/key", response=documented(PushKeyOut), auth=None, operation_id="push_key_get",
            summary="The server's VAPID public key (no sign-in needed)")
def get_push_key(request):
    return {"public_key": vapid.public_key()}


@router.get("/push/subscriptions", response=documented(list[PushSubscriptionOut], SIGNED_IN),
            operation_id="push_subscriptions_list", summary="Your browsers that get reminders by push")
def list_push_subscriptions(request):
    return list(selectors.push_subscription_list(user=request.auth))


@router.post("/push/subscriptions",
             response=documented({200: PushSubscriptionOut, 201: PushSubscriptionOut}, SIGNED_IN_WRITE, JSON_BODY,
                                 QUOTA_EXCEEDED.status),
             operation_id="push_subscription_save",
             summary="Save a browser's push subscription (201; 200 when it was saved before and is refreshed)")
def save_push_subscription(request, payload: PushSubscriptionIn):
    subscription, created = services.push_subscription_save(
        user=request.auth, endpoint=payload.endpoint, keys=payload.keys.dict(),
        user_agent=request.headers.get("User-Agent", ""))
    return Status(201 if created else 200, subscription)


@router.delete("/push/subscriptions/{int:subscription_id}", response=documented({204: None}, SIGNED_IN_WRITE, 404),
               operation_id="push_subscription_delete", summary="Stop push to that browser")
def delete_push_subscription(request, subscription_id: int):
    services.push_subscription_delete(user=request.auth, subscription_id=subscription_id)
    return Status(204, None)
