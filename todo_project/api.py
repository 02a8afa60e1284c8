"""The one NinjaAPI: routers from the apps, domain errors mapped to HTTP once.

The words of an error come from tasks_app.errors, which the MCP tools use too, so a
client hears the same thing through either door; only the HTTP shape is added here.
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from ninja import NinjaAPI

from chat_app.api import router as chat_router
from tasks_app.api import auth_router
from tasks_app.api import router as tasks_router
from tasks_app.auth import api_auth
from tasks_app.errors import database_error_message, field_errors, not_found_message

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


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request, exc):
    # A statement or lock timeout (DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS), a lost connection:
    # the request's transaction was rolled back, so trying again is safe.
    response = api.create_response(request, {"detail": database_error_message(exc)}, status=503)
    response["Retry-After"] = str(settings.DB_RETRY_AFTER_SECONDS)
    return response
