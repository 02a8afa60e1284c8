"""Who is calling: sign-up, API tokens, WebSocket tickets and the development login.

The REST API, the sign-up page, the WebSocket and the MCP endpoint identify a user
through these functions only; the user found here is the one every service and
selector is then called with (no interface takes a user id from the caller).
Tokens are stored as hashes: a leaked database does not leak working tokens.  A token
expires API_TOKEN_TTL_DAYS after it is issued; revoking it (or changing the password,
which revokes them all) deletes it and closes the WebSockets opened with it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.utils import timezone

from . import live, throttling
from .cleaning import clean_text
from .models import ApiToken, Profile
from .services import profiles

User = get_user_model()

USERNAME_MAX_LENGTH = User._meta.get_field(User.USERNAME_FIELD).max_length
# Longer passwords only cost hashing time; PBKDF2 over megabytes is a denial of service.
PASSWORD_MAX_LENGTH = 1024


class UsernameTaken(Exception):
    def __init__(self, username: str):
        super().__init__(f"the username {username!r} is taken")


@transaction.atomic
def user_register(*, username: str, password: str, timezone_guess: str | None = None) -> AbstractBaseUser:
    """A new user with a profile; `timezone_guess` (the browser's zone) is kept if zoneinfo knows it,
    and ignored otherwise: a guess never fails a sign-up."""
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
    profiles.profile_ensure(user=user, timezone=timezone_guess if isinstance(timezone_guess, str) else None)
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user, name: str = "") -> tuple[str, ApiToken]:
    """Create a token for `user`: the secret (shown once) and its row; only its hash is kept.
    It expires API_TOKEN_TTL_DAYS from now."""
    token = "todo_" + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=(name or "")[:100], key_hash=_hash_token(token),
                                  prefix=token[:12],
                                  expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS))
    return token, row


def api_token_issue(*, user, name: str = "") -> str:
    """Create a token for `user` and return it (see api_token_create)."""
    return api_token_create(user=user, name=name)[0]


class _TokenLookup:
    """The statement behind every Bearer request: the token row, its user and the user's profile in one
    join, as `select_related("user__profile")` would read them.  Its SQL is written once, from the
    models' own fields, and its rows become instances with `Model.from_db`: the ORM's building,
    compiling and row handling of that query took 1.26 ms per request here, this 0.43 ms and the
    statement alone 0.38 ms (bench/token_lookup.py, docs/performance.md "The token lookup")."""

    def __init__(self):
        quote = connection.ops.quote_name
        models_ = (ApiToken, User, Profile)
        # Per model: its columns' attnames and where its primary key is among them (None there: no row,
        # as for a user without a profile).
        self.parts = []
        for model in models_:
            attnames = [field.attname for field in model._meta.concrete_fields]
            self.parts.append((model, attnames, attnames.index(model._meta.pk.attname)))
        columns = ", ".join(f"{alias}.{quote(field.column)}" for alias, model in zip("tup", models_)
                            for field in model._meta.concrete_fields)

        def column(model, name: str) -> str:
            return quote(model._meta.get_field(name).column)

        self.sql = (
            f"SELECT {columns} FROM {quote(ApiToken._meta.db_table)} t"
            f" JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = t.{column(ApiToken, 'user')}"
            f" LEFT JOIN {quote(Profile._meta.db_table)} p"
            f" ON p.{column(Profile, 'user')} = u.{quote(User._meta.pk.column)}"
            f" WHERE t.{column(ApiToken, 'key_hash')} = %s AND t.{column(ApiToken, 'expires_at')} > %s")

    def find(self, key_hash: str, now) -> ApiToken | None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [key_hash, now])
            row = cursor.fetchone()
        if row is None:
            return None
        instances, start = [], 0
        for model, attnames, pk_position in self.parts:
            values = row[start:start + len(attnames)]
            start += len(attnames)
            instances.append(None if values[pk_position] is None else model.from_db(DEFAULT_DB_ALIAS, attnames, values))
        token, user, profile = instances
        ApiToken.user.field.set_cached_value(token, user)
        User.profile.related.set_cached_value(user, profile)  # None: reading user.profile raises DoesNotExist
        if profile is not None:
            Profile.user.field.set_cached_value(profile, user)
        return token


@cache
def _token_lookup() -> _TokenLookup:
    return _TokenLookup()


def api_token_find(token: str) -> ApiToken | None:
    """The live token row for `token` (not expired, its user active), with `.user` and the user's
    `.profile` read in the same statement; else None."""
    if not token:
        return None
    now = timezone.now()
    found = _token_lookup().find(_hash_token(token), now)
    if found is None or not found.user.is_active:
        return None
    # Write at most once a minute per token: a busy client should not turn reads into writes.
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found


def api_token_authenticate(token: str):
    """The active user owning the live token `token`, or None."""
    found = api_token_find(token)
    return None if found is None else found.user


def api_token_list(*, user):
    """`user`'s tokens, newest first (rows: the secret is not kept, only its prefix)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_revoke(*, user, token_id: int) -> None:
    """Delete one of `user`'s tokens and close the sockets opened with it.
    ApiToken.DoesNotExist for another user's token (not revealed)."""
    with transaction.atomic():
        ApiToken.objects.get(pk=token_id, user=user).delete()
        transaction.on_commit(lambda: live.sockets_close(live.token_group(token_id)), robust=True)


def api_tokens_revoke_all(*, user) -> int:
    """Delete every token of `user` and close all their sockets (a password change); how many there were."""
    with transaction.atomic():
        deleted, _ = ApiToken.objects.filter(user=user).delete()
        transaction.on_commit(lambda: live.sockets_close(live.user_group(user.pk)), robust=True)
    return deleted


class RevokeTokensOnPasswordChange:
    """In AUTH_PASSWORD_VALIDATORS for its `password_changed` hook, which Django calls after
    every saved password change (forms, admin, `changepassword`): the user's API tokens are
    revoked.  It rejects no password."""

    def validate(self, password, user=None):
        return None

    def password_changed(self, password, user=None):
        if user is not None and user.pk is not None:
            api_tokens_revoke_all(user=user)

    def get_help_text(self):
        return "Changing your password revokes your API tokens."


# --------------------------------------------------------------------------- WebSocket tickets

WS_TICKET_KEY = "ws-ticket:"


def ws_ticket_issue(*, user, token: ApiToken | None = None, session_key: str | None = None) -> str:
    """A single-use ticket for one WebSocket connection within WS_TICKET_TTL_SECONDS, kept in
    Redis (by hash).  The socket is tied to what the caller signed in with: revoking `token`
    (or logging out of `session_key`) closes it."""
    ticket = secrets.token_urlsafe(32)
    groups = [live.user_group(user.pk)]
    if token is not None:
        groups.append(live.token_group(token.pk))
    if session_key:
        groups.append(live.session_group(session_key))
    throttling.redis_client().set(WS_TICKET_KEY + _hash_token(ticket),
                                  json.dumps({"user_id": user.pk, "token_id": token and token.pk, "groups": groups}),
                                  ex=settings.WS_TICKET_TTL_SECONDS)
    return ticket


def ws_ticket_redeem(ticket: str) -> tuple[AbstractBaseUser, list[str]] | None:
    """The active user and socket groups of `ticket`, which is used up; None if unknown or used."""
    if not ticket:
        return None
    stored = throttling.redis_client().getdel(WS_TICKET_KEY + _hash_token(ticket))
    if stored is None:
        return None
    data = json.loads(stored)
    user = User.objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None:
        return None
    # A ticket obtained with a token dies with it (revoked or expired in the meantime).
    if data["token_id"] is not None and not ApiToken.objects.filter(
            pk=data["token_id"], expires_at__gt=timezone.now()).exists():
        return None
    return user, data["groups"]


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
    if created and settings.EMAIL_ENABLED:
        # Its reminders are emailed too, so that `make run`'s local mailbox (.data/mail) shows them;
        # only on creation: a developer who turns it off keeps it off.
        profiles.profile_update(user=user, email=f"{username}@localhost", email_reminders=True)
    return user
