"""The bulk MCP tools' rules (bulk_complete, bulk_delete, bulk_update): a filter, never an empty
one; a preview instead of the action for a dry run or for more than BULK_PREVIEW_ABOVE tasks; and a
confirmation that carries out exactly the previewed tasks.

The confirmation is a signed token (django.core.signing, with SECRET_KEY) holding the user, the
action, the changes and each previewed task's id and version: what is carried out is what the
caller was shown, not a new query, and a task changed since the preview is skipped.  It is good for
CHAT_CONFIRMATION_TTL_SECONDS and only for the user it was made for.  Inside the chat the model never
confirms: the agent's bulk calls become a preview for the user's own "yes" (chat_app.agent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing

from tasks_app import selectors, services

SALT = "todo.bulk-confirmation"
# 200 ids with their versions, compressed: well under this.
CONFIRMATION_MAX_LENGTH = 20000
_PAST = {"complete": "completed", "delete": "deleted", "update": "changed"}


class BulkRefused(Exception):
    """The call cannot be carried out as asked; the message says why and what to do."""


def _jsonable(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    if changes is None:
        return None
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in changes.items()}


def confirmation_make(*, user, action: str, tasks: list, changes: dict[str, Any] | None) -> str:
    return signing.dumps({"user": user.pk, "action": action, "changes": _jsonable(changes),
                          "tasks": [[task.pk, task.updated_at.isoformat()] for task in tasks]},
                         salt=SALT, compress=True)


def confirmation_read(token: str, *, user, action: str) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.CHAT_CONFIRMATION_TTL_SECONDS)
    except signing.SignatureExpired:
        raise BulkRefused("the confirmation has expired: preview again (dry_run) for a fresh one") from None
    except signing.BadSignature:
        raise BulkRefused("not a valid confirmation: pass the confirmation a preview returned, unchanged") from None
    if data.get("user") != user.pk or data.get("action") != action:
        raise BulkRefused(f"this confirmation is not for bulk_{action} by this user")
    return data


def bulk_call(*, user, action: str, filters: dict[str, Any], dry_run: bool, confirm: str | None,
              changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a bulk tool answers (BulkResult's fields)."""
    if confirm is not None:
        if dry_run:
            raise BulkRefused("dry_run and confirm exclude each other")
        data = confirmation_read(confirm, user=user, action=action)
        versions = {task_id: datetime.fromisoformat(version) for task_id, version in data["tasks"]}
        items = services.tasks_bulk_apply(user=user, action=action, task_ids=list(versions),
                                          changes=data["changes"], expected_versions=versions)
        return _done(action, items)
    if not filters:
        raise BulkRefused(f"refusing to {action} every task: give a filter (q, tags, priorities, completed, "
                          "due_before, due_after, overdue, has_due, recurring, has_reminder or task_ids)")
    page = selectors.tasks_matching(user=user, limit=settings.BULK_MAX_TASKS, **filters)
    if page.count > settings.BULK_MAX_TASKS:
        raise BulkRefused(f"{page.count} tasks match; at most {settings.BULK_MAX_TASKS} at a time: narrow the filter")
    if not page.items:
        return {"action": action, "status": "done", "matched": 0, "items": [], "note": "no task matches the filter"}
    if dry_run or len(page.items) > settings.BULK_PREVIEW_ABOVE:
        return {
            "action": action, "status": "dry_run" if dry_run else "needs_confirmation", "matched": len(page.items),
            "items": [{"id": task.pk, "title": task.title, "updated_at": task.updated_at, "status": "previewed"}
                      for task in page.items],
            "confirmation": confirmation_make(user=user, action=action, tasks=page.items, changes=changes),
            "note": f"Nothing has been {_PAST[action]} yet. Show the user these tasks; if they agree, call "
                    f"bulk_{action} again with confirm set to this confirmation.",
        }
    items = services.tasks_bulk_apply(user=user, action=action, task_ids=[task.pk for task in page.items],
                                      changes=changes,
                                      expected_versions={task.pk: task.updated_at for task in page.items})
    return _done(action, items)


def _done(action: str, items: list[services.BulkItem]) -> dict[str, Any]:
    done = sum(item.status == "done" for item in items)
    return {"action": action, "status": "done", "matched": len(items), "items": [vars(item) for item in items],
            "note": f"{done} of {len(items)} {_PAST[action]}; undo reverts them all at once"}
