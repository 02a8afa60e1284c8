"""Every write to tasks, tags, notifications and the audit trail goes through these functions.

The REST API, the MCP tools, the chat assistant, the admin and the Celery jobs call
them; none of them writes these models directly.  Bad input raises
django.core.exceptions.ValidationError with a message per field.  One module per
concern (tasks, changes (undo), bulk, tags, notifications, deliveries, profiles, audit, outbox, retention,
idempotency); this package re-exports their public
names, so callers write `services.task_create(...)` wherever the function lives.
Users and API tokens are written by tasks_app.accounts.
"""

from .audit import audit_record, audit_record_many
from .bulk import BULK_ACTIONS, BulkItem, tasks_bulk_apply
from .changes import NothingToUndo, Reverted, UndoConflict, change_group, undo_last
from .deliveries import deliveries_claim_due, deliveries_create, deliveries_release, delivery_send
from .idempotency import Answer, IdempotencyKeyReused, idempotent_write
from .notifications import (
    notification_mark_read,
    notification_snooze,
    notifications_mark_all_read,
    reminders_claim_due,
    reminders_coming_up,
)
from .outbox import outbox_retry_parked
from .profiles import PROFILE_FIELDS, ProfileChange, profile_ensure, profile_update
from .retention import retention_prune
from .saved_filters import clean_filter_params, saved_filter_create, saved_filter_delete, saved_filter_update
from .tags import tag_delete, tag_rename, tags_for
from .tasks import (
    UPDATABLE_FIELDS,
    next_occurrence_due,
    task_complete,
    task_create,
    task_delete,
    task_reopen,
    task_spawn_next_occurrence,
    task_update,
)

__all__ = [
    "BULK_ACTIONS",
    "BulkItem",
    "tasks_bulk_apply",
    "NothingToUndo",
    "Reverted",
    "UndoConflict",
    "change_group",
    "undo_last",
    "clean_filter_params",
    "saved_filter_create",
    "saved_filter_delete",
    "saved_filter_update",
    "Answer",
    "IdempotencyKeyReused",
    "idempotent_write",
    "PROFILE_FIELDS",
    "ProfileChange",
    "UPDATABLE_FIELDS",
    "audit_record",
    "audit_record_many",
    "deliveries_claim_due",
    "deliveries_create",
    "deliveries_release",
    "delivery_send",
    "next_occurrence_due",
    "notification_mark_read",
    "notification_snooze",
    "notifications_mark_all_read",
    "outbox_retry_parked",
    "profile_ensure",
    "profile_update",
    "reminders_claim_due",
    "reminders_coming_up",
    "retention_prune",
    "tag_delete",
    "tag_rename",
    "tags_for",
    "task_complete",
    "task_create",
    "task_delete",
    "task_reopen",
    "task_spawn_next_occurrence",
    "task_update",
]
