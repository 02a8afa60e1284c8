"""HTTP validators for tasks: the ETag of a task and the If-Match precondition (RFC 9110 §8.8.3, §13.1.1).

Two clients (the page, the chat, an MCP client, a script) editing one task must not silently
overwrite each other: a client sends back the ETag it read in `If-Match`, and a write to a task
that has changed since is refused with 412.

The ETag is a hash of what a client sees of the task (its REST representation, which includes
`id` and `updated_at`), with times normalised to UTC so the same state always hashes the same,
whether it was just written (times as the client sent them) or read back (times in UTC).
Tags are part of it: renaming a tag changes the task's representation without touching its
`updated_at`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from .models import Task
from .schemas import task_out_values


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def task_etag(task: Task) -> str:
    """The strong ETag (quoted) of `task` as the API shows it."""
    state = task_out_values(task)
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=_json_default).encode()).hexdigest()
    return f'"{digest[:32]}"'


def if_match_allows(if_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.1: `*` matches any current version; otherwise one of the listed
    entity tags must equal `etag` by strong comparison (a weak W/"…" tag never does)."""
    candidates = [candidate.strip() for candidate in if_match.split(",")]
    return "*" in candidates or etag in candidates


def task_lock_for_write(*, user, task_id: int) -> None:
    """Lock the user's task row until the end of the caller's transaction, so the version a
    precondition is checked against is the one the write changes.  DoesNotExist (→ 404) for
    a missing task or someone else's."""
    if not Task.objects.select_for_update().filter(pk=task_id, user=user).values_list("pk", flat=True):
        raise Task.DoesNotExist(f"no task {task_id} for this user")
