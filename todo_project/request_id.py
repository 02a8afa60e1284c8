"""One id per request, from the HTTP edge to the Celery job and the Kafka event it caused.

`RequestIdMiddleware` takes the caller's `X-Request-ID` when it is sane (a proxy or a client
that already tagged the request: 1–64 characters of letters, digits, `.`, `_`, `-`, `:`),
otherwise makes a new one (uuid4 hex); it answers with the id in the same header and keeps it in
a contextvar for the rest of the request.  From there:

- `RequestIdFilter` (on every log handler, settings.LOGGING) puts it on each log record as
  `request_id` ("-" when there is none);
- workers/celery_signals.py copies it into the headers of every Celery job published while it is
  set, and sets it again in the worker around that job (its log lines, and the jobs it publishes);
- tasks_app.events.record writes it into the CloudEvent as the `requestid` extension attribute.

The middleware also writes the access log: one `todo.access` record per request with method,
path, status, duration_ms, user_id and request_id as fields (a JSON log line with LOG_FORMAT=json).
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.utils.functional import SimpleLazyObject, empty

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# What a caller's id may be: it is echoed in a header and written to every log line and event,
# so no spaces, quotes, control characters or unbounded lengths.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_logger = logging.getLogger("todo.access")


def current() -> str | None:
    """The id of the request (or Celery job) this code runs for; None outside of one."""
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def accepted(candidate: object) -> str:
    """`candidate` when it is a sane id, a new one otherwise (whatever it is: a header, a message field)."""
    if isinstance(candidate, str) and _SANE.fullmatch(candidate):
        return candidate
    return new_id()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Run the block with `request_id` as the current id (None: none), then restore the previous one."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


def set_current(request_id: str | None) -> contextvars.Token:
    """For code whose start and end are two callbacks (Celery's task_prerun/postrun): undo with `reset`."""
    return _current.set(request_id)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, so formats and the JSON formatter can always name it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        return True


def _resolved_user_id(request) -> int | None:
    """The signed-in user's id if the request already knows it.  request.user is lazy (a session
    lookup): the access log never loads it, it names the user the view (or the bearer token) did."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if user is not None and user.is_authenticated else None


class RequestIdMiddleware:
    """Binds the request id for the request and writes its access log line (sync and async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        request_id = accepted(request.META.get(META_KEY))
        request.request_id = request_id
        started = time.monotonic()
        with bound(request_id):
            response = self.get_response(request)
            self._finish(request, response, started)
        return response

    async def _acall(self, request):
        request_id = accepted(request.META.get(META_KEY))
        request.request_id = request_id
        started = time.monotonic()
        with bound(request_id):
            response = await self.get_response(request)
            self._finish(request, response, started)
        return response

    @staticmethod
    def _finish(request, response, started: float) -> None:
        response[HEADER] = request.request_id
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        user_id = _resolved_user_id(request)
        # A view whose path holds a secret (the calendar feed's token) sets `log_path` to a redacted one.
        path = getattr(request, "log_path", request.path)
        access_logger.info(
            "%s %s %s %.1fms", request.method, path, response.status_code, duration_ms,
            extra={"method": request.method, "path": path, "status": response.status_code,
                   "duration_ms": duration_ms, "user_id": user_id},
        )
