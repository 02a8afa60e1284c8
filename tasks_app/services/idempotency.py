"""Idempotent writes: a retried request with the same Idempotency-Key is answered, not done again.

A phone on a flaky connection that sends "create task" twice (the first answer was lost) must
not get two tasks.  `idempotent_write` runs a write at most once per (user, key): it claims the
key by inserting its row under the unique (user, key) index, in the same transaction as the
write, and stores the write's answer (status, body, headers) in that row before commit.  Then:

- a retry with the same key and the same request gets the stored answer, replayed;
- a retry with the same key and another request (another body, endpoint or tool) is refused
  (`IdempotencyKeyReused`, a 422), so a client bug cannot be answered with the wrong task;
- a concurrent duplicate's INSERT waits on the index until the first commits, then replays its
  answer; if the first failed (its transaction rolled back, key row and all), it goes ahead;
- a failed write stores nothing: retrying it runs it again (and fails again, or not);
- after IDEMPOTENCY_KEY_TTL_HOURS a key is spent: the retention job deletes it, and a row still
  there past its time is taken over by the next request that uses the key.

The REST API (POST /api/tasks, POST /api/tasks/quick) and the MCP tools (add_task, quick_add)
share this; keys are per user, so two users' keys never meet.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from ..models import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey

# What a key may be made of: UUIDs, ULIDs, base64 and hex digests, "client-42:attempt" names.
IDEMPOTENCY_KEY_PATTERN = rf"^[A-Za-z0-9_.:~+/=-]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}$"
IDEMPOTENCY_KEY_RULE = (f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters: letters, digits and - _ . : ~ + / = "
                        "(a UUID is a good key)")


class IdempotencyKeyReused(Exception):
    """The key was used, within its lifetime, for a different request."""


@dataclass(frozen=True)
class Answer:
    """What a write answered: HTTP-like status, a JSON body, headers worth replaying (Location, ETag)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def clean_idempotency_key(key: Any) -> str:
    """The key as sent, or ValidationError naming the rule.  A key in double quotes (the IETF
    draft's sf-string form, `Idempotency-Key: "8e03…"`) is read without them."""
    if not isinstance(key, str):
        raise ValidationError({"idempotency_key": [f"must be text, not {type(key).__name__}"]})
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise ValidationError({"idempotency_key": [f"must be {IDEMPOTENCY_KEY_RULE}"]})
    return key


def request_fingerprint(scope: str, request: Any) -> str:
    """SHA-256 of the scope and the request as data: the same body however it was spelled."""
    canonical = json.dumps([scope, request], sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def idempotent_write(*, user, key: str | None, scope: str, request: Any, perform: Callable[[], Answer]) -> Answer:
    """`perform()` once per (user, key): its answer, or the stored answer of the first request that
    used `key` for the same `scope` and `request`.  Without a key, simply `perform()`."""
    if key is None:
        return perform()
    key = clean_idempotency_key(key)
    fingerprint = request_fingerprint(scope, request)
    with transaction.atomic():
        claimed = _claim(user=user, key=key, fingerprint=fingerprint, scope=scope)
        if claimed is None:
            return _replay(user=user, key=key, fingerprint=fingerprint, scope=scope)
        answer = perform()
        IdempotencyKey.objects.filter(pk=claimed).update(
            status_code=answer.status, response_body=answer.body, response_headers=answer.headers)
    return answer


def _claim(*, user, key: str, fingerprint: str, scope: str) -> int | None:
    """Insert the key's row (waiting, on the unique index, for a concurrent request that holds it)
    and return its id; None if a live row is there.  A row past its lifetime is taken over."""
    now = timezone.now()
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS k (user_id, key, fingerprint, scope, status_code, response_body, "
            "response_headers, created_at) VALUES (%s, %s, %s, %s, NULL, NULL, '{}'::jsonb, %s) "
            "ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, scope = EXCLUDED.scope, "
            "status_code = NULL, response_body = NULL, response_headers = '{}'::jsonb, created_at = EXCLUDED.created_at "
            "WHERE k.created_at < %s RETURNING k.id",
            [user.pk, key, fingerprint, scope, now, now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)])
        row = cursor.fetchone()
    return row[0] if row else None


def _replay(*, user, key: str, fingerprint: str, scope: str) -> Answer:
    stored = IdempotencyKey.objects.get(user=user, key=key)
    if stored.fingerprint != fingerprint:
        same_place = "with another request body" if stored.scope == scope else f"for {stored.scope}"
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used {same_place} in the last "
            f"{settings.IDEMPOTENCY_KEY_TTL_HOURS} hours; send a new key for a new request")
    if stored.status_code is None:  # cannot be seen committed; kept as a guard, not a path
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r}: the first request with it has no answer yet")
    return Answer(status=stored.status_code, body=stored.response_body, headers=stored.response_headers,
                  replayed=True)
