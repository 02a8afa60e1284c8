"""The one NinjaAPI: routers from the apps, every error answered once, as problem details.

The words of an error come from tasks_app.errors, which the MCP tools use too, so a
client hears the same thing through either door; the HTTP shape (RFC 9457, one builder)
is todo_project.problems.
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from chat_app.api import router as chat_router
from tasks_app.calendar_feed.api import router as calendar_feed_router
from tasks_app.api import auth_router
from tasks_app.api import router as tasks_router
from tasks_app.lists_api import router as lists_router
from tasks_app.auth import api_auth
from tasks_app.errors import QuotaExceeded, database_error_message, field_errors, not_found_message
from tasks_app.push.api import router as push_router
from tasks_app.throttling import Throttled
from tasks_app.transfer.api import router as transfer_router
from tasks_app.webhooks.api import router as webhooks_router

from .problems import (
    BODY_TOO_LARGE,
    DATABASE_UNAVAILABLE,
    NOT_FOUND,
    PROBLEM_CONTENT_TYPE,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    kind_for_status,
    problem_response,
    validation_problem,
)

# Headers an error response carries, documented beside its status in the OpenAPI document.
DOCUMENTED_ERROR_HEADERS = {
    "401": {"WWW-Authenticate": "The scheme to authenticate with: `Bearer`"},
    "429": {"Retry-After": "Seconds until the limit lifts"},
    "503": {"Retry-After": "Seconds to wait before retrying"},
}


class TodoAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # Endpoints name theirs (`operation_id="task_create"`); this only keeps a forgotten one
        # free of module-path noise.
        return operation.view_func.__name__

    def get_openapi_schema(self, **kwargs):
        """ninja documents every response as application/json; errors are application/problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    if int(status) < 400:
                        continue
                    if "content" in response:
                        response["content"] = {PROBLEM_CONTENT_TYPE: next(iter(response["content"].values()))}
                    if status in DOCUMENTED_ERROR_HEADERS:
                        response["headers"] = {
                            name: {"description": text, "required": True, "schema": {"type": "string"}}
                            for name, text in DOCUMENTED_ERROR_HEADERS[status].items()}
        return schema

    def validation_error_from_error_contexts(self, error_contexts) -> NinjaValidationError:
        """pydantic's errors as FieldError entries.  A location starts with the view's parameter
        name (`payload`, `query`): the view's word, not the client's, so it is left out when the
        parameter is a schema of fields; a plain parameter (`limit: int`) is the field itself."""
        errors = []
        for context in error_contexts:
            model = context.model
            for error in context.pydantic_validation_error.errors(include_url=False):
                loc = tuple(error["loc"])
                path = model.__ninja_flatten_map_reverse__.get(loc)
                if path is None:
                    parameter = model.model_fields.get(loc[0]) if loc else None
                    is_schema = parameter is not None and isinstance(parameter.annotation, type) \
                        and issubclass(parameter.annotation, BaseModel)
                    path = loc[1:] if is_schema else loc
                # A validator's ValueError reads "Value error, <our words>": the prefix says nothing to a client.
                message = error["msg"].removeprefix("Value error, ")
                errors.append({"location": model.__ninja_param_source__,
                               "field": ".".join(str(part) for part in path) or None, "message": message})
        return NinjaValidationError(errors)


api = TodoAPI(
    title="Todo AI Chatbot API",
    version="1.0.0",
    description="Tasks with priorities, tags, due dates, recurrence and reminders. "
    "Authenticate with `Authorization: Bearer <token>` (POST /api/auth/token). "
    "Every error is an RFC 9457 problem (`application/problem+json`): `type` names the kind "
    "(see the ProblemDetails schema), `detail` says what was wrong, and a 422 lists each bad "
    "value in `errors`.",
    auth=api_auth,
    urls_namespace="api",
)
api.add_router("/auth", auth_router)
api.add_router("/", tasks_router)
api.add_router("/", lists_router)
api.add_router("/", chat_router)
api.add_router("/", transfer_router)
api.add_router("/", webhooks_router)
api.add_router("/", calendar_feed_router)
api.add_router("/", push_router)


# ------------------------------------------------------------------ 422: ours and ninja's, one shape


@api.exception_handler(NinjaValidationError)
def on_schema_validation_error(request, exc: NinjaValidationError):
    # Its errors are already FieldError entries (TodoAPI.validation_error_from_error_contexts).
    return validation_problem(exc.errors)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    # Reads (GET) take their parameters from the query string, writes from the body.
    location = "query" if request.method in ("GET", "HEAD") else "body"
    return validation_problem([{"location": location, "field": field, "message": message}
                               for field, message in field_errors(exc)])


# ------------------------------------------------------------------ the rest


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # Raised by endpoints (403, 409, 412, 401), ninja's authentication (401) and body parsing (400).
    return problem_response(kind_for_status(exc.status_code), str(exc))


@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request, exc: ObjectDoesNotExist):
    # Also for another user's task, whose existence is not revealed.
    return problem_response(NOT_FOUND, not_found_message(exc))


@api.exception_handler(Http404)
def on_http_404(request, exc: Http404):
    return problem_response(NOT_FOUND, "not found")


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc: RequestDataTooBig):
    # Under uvicorn the ASGI layer (todo_project.body_limit) refuses such a body before reading it;
    # this answers the same for any other server.
    return problem_response(BODY_TOO_LARGE, f"request body larger than {settings.REQUEST_BODY_MAX_BYTES} bytes")


# The database went away under a request (a failover, a restart, a backend terminated by an
# operator), or a statement or lock timeout (DB_STATEMENT_TIMEOUT_MS, DB_LOCK_TIMEOUT_MS) cut it short: a
# transient condition, not a bug, so 503 with Retry-After rather than a 500.  A change lost with its
# transaction was not saved; one whose COMMIT was in flight may have been.  Django drops a broken
# connection at the end of the request; the next one connects afresh.
@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request, exc):
    return problem_response(DATABASE_UNAVAILABLE, database_error_message(exc),
                            headers={"Retry-After": str(settings.DB_RETRY_AFTER_SECONDS)})


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
    return problem_response(RATE_LIMITED, exc.message, headers={"Retry-After": str(exc.retry_after)})


@api.exception_handler(QuotaExceeded)
def on_quota_exceeded(request, exc: QuotaExceeded):
    return problem_response(QUOTA_EXCEEDED, str(exc))
