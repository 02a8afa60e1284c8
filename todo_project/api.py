"""The one NinjaAPI: routers from the apps, domain errors mapped to HTTP once."""

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from ninja import NinjaAPI

from chat_app.api import router as chat_router
from tasks_app.api import auth_router, router as tasks_router
from tasks_app.auth import api_auth

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
    if hasattr(exc, "error_dict"):
        return [
            {"loc": [source, field], "msg": message, "type": "value_error"}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"loc": [source], "msg": message, "type": "value_error"} for message in exc.messages]


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    # Reads (GET) take their parameters from the query string, writes from the body.
    source = "query" if request.method in ("GET", "HEAD") else "body"
    return api.create_response(request, {"detail": validation_error_detail(exc, source)}, status=422)


@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request, exc: ObjectDoesNotExist):
    # Task.DoesNotExist → "task not found"; also for another user's task, whose existence is not revealed.
    model = type(exc).__qualname__.split(".")[0]
    name = model.lower() if model != "ObjectDoesNotExist" else "object"
    return api.create_response(request, {"detail": f"{name} not found"}, status=404)
