"""Who is calling: sign-up, API tokens and the development login.

The REST API, the sign-up page, the WebSocket and the MCP endpoint identify a user
through these functions only; the user found here is the one every service and
selector is then called with (no interface takes a user id from the caller).
Tokens are stored as hashes: a leaked database does not leak working tokens.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .cleaning import clean_text
from .models import ApiToken

User = get_user_model()

USERNAME_MAX_LENGTH = User._meta.get_field(User.USERNAME_FIELD).max_length
# Longer passwords only cost hashing time; PBKDF2 over megabytes is a denial of service.
PASSWORD_MAX_LENGTH = 1024


class UsernameTaken(Exception):
    def __init__(self, username: str):
        super().__init__(f"the username {username!r} is taken")


@transaction.atomic
def user_register(*, username: str, password: str) -> AbstractBaseUser:
    if not settings.ALLOW_SIGNUP:
        raise PermissionError("sign-up is turned off on this server")
    username = clean_text("username", username or "", max_length=USERNAME_MAX_LENGTH).strip()
    password = clean_text("password", password or "", max_length=PASSWORD_MAX_LENGTH)
    user = User(username=username)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        messages = exc.message_dict
        if any("already exists" in message for message in messages.get("username", [])):
            raise UsernameTaken(username) from None
        raise ValidationError({"username": messages.get("username", ["is not valid"])}) from None
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_issue(*, user, name: str = "") -> str:
    """Create a token for `user` and return it; only its hash is kept."""
    token = "todo_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], key_hash=_hash_token(token), prefix=token[:12])
    return token


def api_token_authenticate(token: str):
    """The active user owning `token`, or None."""
    if not token:
        return None
    found = ApiToken.objects.select_related("user").filter(key_hash=_hash_token(token)).first()
    if found is None or not found.user.is_active:
        return None
    now = timezone.now()
    # Write at most once a minute per token: a busy client should not turn reads into writes.
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user


def demo_user_ensure(*, username: str = "demo", password: str = "demo") -> AbstractBaseUser:
    """The development login printed by `make run`; refused outside development."""
    if not settings.DEMO_USER_ENABLED:
        raise PermissionError("the demo user exists only in development (DJANGO_DEBUG=true)")
    user, created = User.objects.get_or_create(username=username)
    if created or not user.check_password(password):
        user.set_password(password)  # deliberately weak: development only
    # Staff in development so the admin can be explored with the same login.
    user.is_staff = user.is_superuser = True
    user.save()
    return user
