"""Push subscriptions (save, delete) and sending one payload to a user's browsers.

Sending: the JSON payload is encrypted for the browser with pywebpush (RFC 8291 aes128gcm: an
ephemeral ECDH key, the browser's p256dh key and auth secret), signed with the server's VAPID key
(py_vapid: a JWT for the push service's origin, 12 hours), and POSTed through the SSRF guard of
tasks_app.webhooks.network (every resolved address checked and pinned, no redirects, connect/read/
total timeouts, a capped answer) rather than pywebpush's own `requests` call, which follows no
address policy and has no total timeout.  The push service's answer decides:
2xx delivered · 404/410 the subscription is gone (deleted here) · 429, 5xx, no answer: try later ·
any other 4xx, or an address the policy refuses: trying again will not help.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from pywebpush import WebPusher, WebPushException

from ..cleaning import clean_text
from ..errors import quota_check
from ..models import PUSH_ENDPOINT_MAX_LENGTH, PUSH_USER_AGENT_MAX_LENGTH, PushSubscription
from ..webhooks import network
from . import vapid

# RFC 8291: one record of at most 4096 bytes, less the header (86), the tag (16) and the padding
# delimiter: what a push service must accept.  Payloads are kept well under it.
PAYLOAD_MAX_BYTES = 3000
VAPID_TOKEN_LIFETIME_SECONDS = 12 * 3600  # RFC 8292 allows at most 24 hours


# --------------------------------------------------------------------------- where pushes may go


def push_policy() -> network.Policy:
    return network.Policy(schemes=("https", "http") if settings.PUSH_ALLOW_LOOPBACK else ("https",),
                          allow_private=False, allow_loopback=settings.PUSH_ALLOW_LOOPBACK,
                          connect_timeout=settings.PUSH_CONNECT_TIMEOUT, read_timeout=settings.PUSH_READ_TIMEOUT,
                          total_timeout=settings.PUSH_TOTAL_TIMEOUT, max_response_bytes=64 * 1024)


def _is_loopback_host(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return network._ip(host).is_loopback
    except ValueError:
        return False


def _known_push_service(host: str) -> bool:
    allowed = [name.lower().strip(".") for name in settings.PUSH_ENDPOINT_HOSTS]
    return "*" in allowed or any(host == name or host.endswith("." + name) for name in allowed)


def clean_endpoint(endpoint) -> str:
    clean_text("endpoint", endpoint, max_length=PUSH_ENDPOINT_MAX_LENGTH)
    try:
        endpoint = network.check_url(endpoint, push_policy())
    except network.WebhookURLError as exc:
        raise ValidationError({"endpoint": [str(exc)]}) from None
    parts = urlsplit(endpoint)
    host = parts.hostname.lower()
    loopback = settings.PUSH_ALLOW_LOOPBACK and _is_loopback_host(host)
    if parts.scheme != "https" and not loopback:
        raise ValidationError({"endpoint": ["must start with https://"]})
    if not loopback and not _known_push_service(host):
        raise ValidationError({"endpoint": [f"{host} is not a push service this server sends to "
                                            "(PUSH_ENDPOINT_HOSTS)"]})
    return endpoint


def _clean_key(field: str, value, *, length: int) -> str:
    """A base64url key of `length` bytes, as the browser's PushSubscription.toJSON() gives it
    (padding tolerated and dropped)."""
    if not isinstance(value, str):
        raise ValidationError({field: ["must be base64url text"]})
    text = value.strip().rstrip("=")
    if len(text) > 200 or not text or any(c not in vapid.B64URL_ALPHABET for c in text):
        raise ValidationError({field: ["must be base64url text (A–Z, a–z, 0–9, - and _)"]})
    try:
        raw = vapid.b64url_decode(text)
    except ValueError:
        raise ValidationError({field: ["is not valid base64url"]}) from None
    if len(raw) != length:
        raise ValidationError({field: [f"must decode to {length} bytes, not {len(raw)}"]})
    return vapid.b64url(raw)


def clean_keys(keys) -> tuple[str, str]:
    if not isinstance(keys, dict):
        raise ValidationError({"keys": ["must be an object with p256dh and auth"]})
    p256dh = _clean_key("keys.p256dh", keys.get("p256dh"), length=65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), vapid.b64url_decode(p256dh))
    except ValueError:
        raise ValidationError({"keys.p256dh": ["is not a P-256 public key (uncompressed point)"]}) from None
    return p256dh, _clean_key("keys.auth", keys.get("auth"), length=16)


# --------------------------------------------------------------------------- subscriptions


@transaction.atomic
def push_subscription_save(*, user, endpoint, keys, user_agent: str = "") -> tuple[PushSubscription, bool]:
    """Save a browser's subscription for `user`; (row, created).  Saving one again refreshes its keys.
    An endpoint saved by another user moves to this one: the browser is signed in as this user now."""
    endpoint = clean_endpoint(endpoint)
    p256dh, auth = clean_keys(keys)
    user_agent = "".join(ch for ch in str(user_agent or "") if ch.isprintable())[:PUSH_USER_AGENT_MAX_LENGTH]
    # Lock the user: two subscribes at once count each other, so the quota holds.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    created = not PushSubscription.objects.filter(user=user, endpoint=endpoint).exists()
    if created:
        quota_check(used=PushSubscription.objects.filter(user=user).count(),
                    limit=settings.QUOTA_PUSH_SUBSCRIPTIONS_PER_USER, what="push subscriptions per user",
                    hint="remove a browser in settings to add another")
    # INSERT … ON CONFLICT (endpoint) DO UPDATE: one statement, no race with the same browser's retry.
    PushSubscription.objects.bulk_create(
        [PushSubscription(user=user, endpoint=endpoint, p256dh=p256dh, auth=auth, user_agent=user_agent)],
        update_conflicts=True, unique_fields=["endpoint"], update_fields=["user", "p256dh", "auth", "user_agent"])
    return PushSubscription.objects.get(endpoint=endpoint), created


@transaction.atomic
def push_subscription_delete(*, user, subscription_id: int) -> None:
    """DoesNotExist for an id that is not one of `user`'s."""
    PushSubscription.objects.select_for_update().get(user=user, pk=subscription_id).delete()


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class PushResult:
    subscription_id: int
    status: int | None  # the push service's HTTP status; None: no answer
    delivered: bool
    gone: bool  # 404/410: the browser dropped the subscription; deleted here
    retryable: bool
    error: str = ""


def _encrypted_request(subscription: PushSubscription, data: bytes, *, ttl: int, topic: str | None,
                       urgency: str, keys: vapid.KeyPair) -> tuple[bytes, dict[str, str]]:
    body = WebPusher({"endpoint": subscription.endpoint,
                      "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}).encode(data, "aes128gcm")["body"]
    parts = urlsplit(subscription.endpoint)
    headers = dict(keys.vapid.sign({"aud": f"{parts.scheme}://{parts.netloc}", "sub": settings.VAPID_SUBJECT,
                                    "exp": int(time.time()) + VAPID_TOKEN_LIFETIME_SECONDS}))
    headers.update({"Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
                    "TTL": str(ttl), "Urgency": urgency})
    if topic:
        headers["Topic"] = topic  # a newer message with the same topic replaces one still queued (RFC 8030 §5.4)
    return body, headers


def _outcome(subscription: PushSubscription, answer: network.Answer, now) -> PushResult:
    status = answer.status
    detail = answer.body_start.decode("utf-8", "replace").strip()
    said = f"push service answered {status}" + (f": {detail[:200]}" if detail else "")
    if status is not None and 200 <= status < 300:
        PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=now)
        return PushResult(subscription.pk, status, True, False, False)
    if status in (404, 410):
        PushSubscription.objects.filter(pk=subscription.pk, endpoint=subscription.endpoint).delete()
        return PushResult(subscription.pk, status, False, True, False, f"{said}; the subscription is gone and was removed")
    if status is None:
        return PushResult(subscription.pk, None, False, False, not answer.refused, answer.error or "no answer")
    return PushResult(subscription.pk, status, False, False, status == 429 or status >= 500, said)


def push_send(*, subscriptions: list[PushSubscription], payload: dict, ttl: int | None = None,
              topic: str | None = None, urgency: str = "normal") -> list[PushResult]:
    """Send `payload` (a JSON object) to each subscription and record the outcomes: last_success_at on
    delivery, the row deleted when the push service says it is gone.  Requests run in parallel (at
    most 4), each bounded by PUSH_*_TIMEOUT; the database is written from the calling thread only."""
    if not subscriptions:
        return []
    data = json.dumps(payload, separators=(",", ":")).encode()
    if len(data) > PAYLOAD_MAX_BYTES:
        raise ValueError(f"push payload is {len(data)} bytes; at most {PAYLOAD_MAX_BYTES}")
    keys = vapid.key_pair()
    ttl = settings.PUSH_TTL_SECONDS if ttl is None else ttl
    policy = push_policy()

    def post(subscription: PushSubscription) -> network.Answer:
        try:
            body, headers = _encrypted_request(subscription, data, ttl=ttl, topic=topic, urgency=urgency, keys=keys)
        except (ValueError, WebPushException) as exc:
            # Keys of the right shape that are no point on the curve (a row not saved through
            # push_subscription_save): nothing can ever be sent to it.  Final, like a refused address.
            return network.Answer(None, 0, f"the subscription's keys are unusable: {exc}"[:500], refused=True)
        return network.post(subscription.endpoint, body, headers, policy)

    if len(subscriptions) == 1:
        answers = [post(subscriptions[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(4, len(subscriptions))) as pool:
            answers = list(pool.map(post, subscriptions))
    now = timezone.now()
    return [_outcome(subscription, answer, now) for subscription, answer in zip(subscriptions, answers)]


def push_notification(subscription: PushSubscription, payload: dict, **options) -> PushResult:
    return push_send(subscriptions=[subscription], payload=payload, **options)[0]


def push_send_to_user(*, user, payload: dict, **options) -> list[PushResult]:
    return push_send(subscriptions=list(PushSubscription.objects.filter(user=user).order_by("id")),
                     payload=payload, **options)


MESSAGE_MAX_CHARS = 300


def notification_payload(notification) -> dict:
    """What the service worker (/sw.js) shows for a notice: its words, and where a click leads."""
    return {
        "title": "Reminder" if notification.kind == "reminder" else "Todo",
        "body": notification.message[:MESSAGE_MAX_CHARS],
        "tag": f"notification-{notification.pk}",  # the same notice twice replaces, never stacks
        "notification_id": notification.pk,
        "task_id": notification.task_id,
        "due_at": notification.due_at.isoformat() if notification.due_at else None,
        "url": "/tasks/",
    }
