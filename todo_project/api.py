"""The one NinjaAPI: routers from the apps, domain errors mapped to HTTP once.

The words of an error come from tasks_app.errors, which the MCP tools use too, so a
client hears the same thing through either door; only the HTTP shape is added here.
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from ninja import NinjaAPI
from pydantic import ValidationError as PydanticValidationError

from chat_app.api import router as chat_router
from tasks_app.calendar_feed.api import router as calendar_feed_router
from tasks_app.api import auth_router
from tasks_app.api import router as tasks_router
from tasks_app.auth import api_auth
from tasks_app.errors import QuotaExceeded, database_error_message, field_errors, not_found_message
from tasks_app.throttling import Throttled
from tasks_app.transfer.api import router as transfer_router
from tasks_app.webhooks.api import router as webhooks_router

api = NinjaAPI(
    title="Todo AI Chatbot API",
    version="1.0.0",
    description="Tasks with priorities, tags, due dates, recurrence and reminders. "
    "Authenticate with `Authorization: Bearer <token>` (POST /api/auth/token).",
    auth=api_auth,
    urls_namespace="api",
)
api.add_router("/auth", auth_router)
api.add_router("/", tasks_router)
api.add_router("/", chat_router)
api.add_router("/", transfer_router)
api.add_router("/", webhooks_router)
api.add_router("/", calendar_feed_router)


def validation_error_detail(exc: ValidationError, source: str = "body") -> list[dict]:
    """Django ValidationError in the shape ninja uses for schema errors, so
    clients read every 422 the same way: [{"loc": [...], "msg": ..., "type": ...}]."""
    return [
        {"loc": [source] if field is None else [source, field], "msg": message, "type": "value_error"}
        for field, message in field_errors(exc)
    ]


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    # Reads (GET) take their parameters from the query string, writes from the body.
    source = "query" if request.method in ("GET", "HEAD") else "body"
    return api.create_response(request, {"detail": validation_error_detail(exc, source)}, status=422)


@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request, exc: ObjectDoesNotExist):
    # Also for another user's task, whose existence is not revealed.
    return api.create_response(request, {"detail": not_found_message(exc)}, status=404)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc: RequestDataTooBig):
    # Under uvicorn the ASGI layer (todo_project.asgi) refuses such a body before reading it;
    # this answers the same for any other server.
    return api.create_response(
        request, {"detail": f"request body larger than {settings.REQUEST_BODY_MAX_BYTES} bytes"}, status=413)


# The database went away under a request (a failover, a restart, a backend terminated by an
# operator), or a statement or lock timeout (DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS) cut it short: a
# transient condition, not a bug, so 503 with Retry-After rather than a 500.  A change lost with its
# transaction was not saved; one whose COMMIT was in flight may have been.  Django drops a broken
# connection at the end of the request; the next one connects afresh.
@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request, exc):
    response = api.create_response(request, {"detail": database_error_message(exc)}, status=503)
    response["Retry-After"] = str(settings.DB_RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(PydanticValidationError)
def on_response_not_built(request, exc: PydanticValidationError):
    """A response schema reads attributes (a task's tags) lazily; when the database goes away
    right then, pydantic reports the OperationalError as a `get_attribute_error`.  That is the
    same lost connection; anything else is a real bug and stays a 500."""
    lost = [error for error in exc.errors() if error.get("type") == "get_attribute_error"
            and str(error.get("ctx", {}).get("error", "")).startswith(("OperationalError", "InterfaceError"))]
    if not lost:
        raise exc
    return on_database_unavailable(request, exc)


@api.exception_handler(Throttled)
def on_throttled(request, exc: Throttled):
    response = api.create_response(request, {"detail": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(QuotaExceeded)
def on_quota_exceeded(request, exc: QuotaExceeded):
    return api.create_response(request, {"detail": str(exc)}, status=403)
