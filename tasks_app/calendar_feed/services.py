"""The feed's token: issue, rotate, turn off, show, and the feed a presented token opens.

A token is `<selector><verifier>`: the selector (16 letters and digits) is stored and finds the row;
the verifier is HMAC-SHA256 (django.utils.crypto.salted_hmac, keyed with SECRET_KEY) of the row's
random 256-bit seed, in unpadded base64url — never stored, recomputed to show the owner their URL
and compared with hmac.compare_digest when presented.  Keys in SECRET_KEY_FALLBACKS still open
feeds, so rotating SECRET_KEY the Django way does not break subscriptions at once; URLs are shown
with the current key.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import string

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..models import CalendarFeed

SELECTOR_LENGTH = 16
_SELECTOR_ALPHABET = string.ascii_letters + string.digits
VERIFIER_LENGTH = 43  # 32 bytes of HMAC-SHA256 in unpadded base64url
TOKEN_LENGTH = SELECTOR_LENGTH + VERIFIER_LENGTH
_SALT = "tasks_app.calendar_feed"


def _verifier(feed: CalendarFeed, secret: str) -> str:
    digest = salted_hmac(_SALT, f"{feed.selector}:{feed.seed}", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def calendar_feed_token(feed: CalendarFeed) -> str:
    """The token of `feed`, the secret part of its URL."""
    return feed.selector + _verifier(feed, settings.SECRET_KEY)


def calendar_feed_get(*, user) -> CalendarFeed | None:
    """`user`'s feed, or None when it is off."""
    return CalendarFeed.objects.filter(user=user).first()


@transaction.atomic
def calendar_feed_rotate(*, user) -> CalendarFeed:
    """Give `user` a new feed token (also how a feed is turned on); the previous one stops working
    at once.  Two first rotations at once leave one row: update_or_create's get_or_create meets the
    other's insert as an IntegrityError, reads that row and updates it."""
    feed, _ = CalendarFeed.objects.update_or_create(user=user, defaults={
        "selector": "".join(secrets.choice(_SELECTOR_ALPHABET) for _ in range(SELECTOR_LENGTH)),
        "seed": secrets.token_hex(32),
        "created_at": timezone.now(),
    })
    return feed


def calendar_feed_turn_off(*, user) -> bool:
    """Turn `user`'s feed off (its URL answers 404 from now on); whether it was on."""
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def calendar_feed_open(token: str) -> CalendarFeed | None:
    """The feed `token` opens, with its user loaded, or None — for a malformed, unknown, rotated or
    turned-off token alike, so that a caller cannot tell which."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    selector, presented = token[:SELECTOR_LENGTH], token[SELECTOR_LENGTH:]
    feed = CalendarFeed.objects.select_related("user").filter(selector=selector).first()
    if feed is None or not feed.user.is_active:
        return None
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    # Every key is tried, whatever matched, so the time taken does not say which did.
    matched = [hmac.compare_digest(_verifier(feed, key), presented) for key in keys]
    return feed if any(matched) else None
