"""One meaning for a domain error, whichever surface reports it.

Services and selectors raise Django's ValidationError (a message per field) and a
model's DoesNotExist (missing, or another user's: the two read the same).  The REST
exception handlers (todo_project.api) and the MCP tools (chat_app.mcp_server) both
turn them into words here, so a client hears the same thing through either door.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError
from psycopg import errors as pg


class QuotaExceeded(Exception):
    """A write would take a user past a storage quota (QUOTA_* settings); REST answers 403."""

    def __init__(self, what: str, limit: int, hint: str = ""):
        super().__init__(f"quota exceeded: at most {limit} {what}" + (f"; {hint}" if hint else ""))
        self.what, self.limit = what, limit


def quota_check(*, used: int, limit: int, what: str, hint: str = "") -> None:
    """QuotaExceeded when `used` (before the write) has reached `limit`."""
    if used >= limit:
        raise QuotaExceeded(what, limit, hint)


def field_errors(exc: ValidationError) -> list[tuple[str | None, str]]:
    """(field, message) pairs; field is None for an error not tied to one field."""
    if hasattr(exc, "error_dict"):
        return [(field, message) for field, messages in exc.message_dict.items() for message in messages]
    return [(None, message) for message in exc.messages]


def not_found_message(exc: ObjectDoesNotExist) -> str:
    """"task not found" for Task.DoesNotExist; existence of another user's object is not revealed."""
    model = type(exc).__qualname__.split(".")[0]
    return f"{model.lower() if model != 'ObjectDoesNotExist' else 'object'} not found"


def database_error_message(exc: DatabaseError) -> str:
    """What a client is told when the database could not serve a request (timeouts, an outage):
    the request may be retried; nothing of it was committed."""
    cause = exc.__cause__
    if isinstance(cause, pg.LockNotAvailable):
        return "the database is busy: another change holds what this request needs (lock timeout); try again shortly"
    if isinstance(cause, pg.QueryCanceled):
        return "the database took too long to answer (statement timeout); try again shortly"
    if isinstance(cause, pg.TransactionRollback):
        return "a concurrent change got in the way; try again"
    return ("the database connection was lost or the database is unavailable; a change in flight may not "
            "have been saved; try again shortly")


def error_message(exc: Exception) -> str:
    """One line for a person: "title: must not be empty; priority: 'P9' is not one of P1, P2, P3, P4"."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{field}: {message}" if field else message for field, message in field_errors(exc))
    if isinstance(exc, ObjectDoesNotExist):
        return not_found_message(exc)
    return str(exc)
