"""Idempotency-Key on every REST write (POST/PATCH/PUT/DELETE under /api/), one mechanism for all.

A middleware rather than a change to each route: the routes stay as they are, and a new write
route is covered without anyone remembering to.  When a write carries `Idempotency-Key`, the
route runs inside `services.idempotent_write` (tasks_app.services.idempotency): scope = method +
path, request = a digest of the body and the query string.  Only a 2xx answer is stored; any
other answer rolls back the write's transaction (key row included), so a 4xx changes nothing and
the same key may be retried with a fixed body.  A replay answers status, body, Content-Type,
Location and ETag as the first time, plus `Idempotent-Replayed: true`.

POST /api/tasks and POST /api/tasks/quick handle the header in the route (their fingerprint is the
parsed body, so two spellings of one body are one request); the middleware leaves them alone.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpResponse

from todo_project.problems import BODY_TOO_LARGE, problem_response, validation_problem

from . import accounts
from .services import idempotency

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# Routes that apply the key themselves (tasks_app/api.py create_task, chat_app/api.py quick_add_task).
HANDLED_BY_ROUTE = frozenset({("POST", "/api/tasks"), ("POST", "/api/tasks/quick")})
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


class _NotStored(Exception):
    """A non-2xx answer: leave `idempotent_write`'s transaction by an exception so it rolls back."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


class IdempotentApiWritesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key")
        path = request.path_info.rstrip("/") or "/"
        if (key is None or request.method not in WRITE_METHODS or not path.startswith("/api/")
                or (request.method, path) in HANDLED_BY_ROUTE):
            return self.get_response(request)
        try:
            key = idempotency.clean_idempotency_key(key)
        except ValidationError:
            return validation_problem([{"location": "header", "field": "Idempotency-Key",
                                        "message": f"must be {idempotency.IDEMPOTENCY_KEY_RULE}"}])
        user = _caller(request)
        if user is None:  # the route answers 401/403 itself; nothing to remember for nobody
            return self.get_response(request)
        try:
            body = request.body  # read once here; the route (multipart included) parses this copy
        except RequestDataTooBig:
            return problem_response(BODY_TOO_LARGE, f"request body larger than {settings.REQUEST_BODY_MAX_BYTES} bytes")
        scope = f"{request.method} {path}"
        fingerprint = {"body": _body_digest(request, body), "query": request.META.get("QUERY_STRING", "")}

        first = []  # the route's own response, sent as is when this request is the first

        def perform() -> idempotency.Answer:
            response = self.get_response(request)
            first.append(response)
            if not 200 <= response.status_code < 300 or response.streaming:
                raise _NotStored(response)
            return _as_answer(response)

        try:
            answer = idempotency.idempotent_write(user=user, key=key, scope=scope, request=fingerprint,
                                                  perform=perform)
        except _NotStored as not_stored:
            return not_stored.response
        except idempotency.IdempotencyKeyReused as exc:
            return validation_problem([{"location": "header", "field": "Idempotency-Key", "message": str(exc)}],
                                      detail=str(exc))
        return _replayed(answer) if answer.replayed else first[0]


def _body_digest(request, body: bytes):
    """SHA-256 of the body bytes; for a multipart form, of its fields and each file's content, since a
    client re-sending the same upload picks a new boundary."""
    if not request.content_type.startswith("multipart/form-data"):
        return hashlib.sha256(body).hexdigest()
    files = {}
    for name, uploads in request.FILES.lists():
        files[name] = []
        for upload in uploads:
            files[name].append(hashlib.sha256(upload.read()).hexdigest())
            upload.seek(0)  # the route reads it again
    return {"fields": sorted(request.POST.lists()), "files": files}


def _caller(request):
    """The user the route would see: a live bearer token's, else the session's; None for nobody."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        found = accounts.api_token_find(token.strip())
        return found.user if found is not None else None
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _as_answer(response) -> idempotency.Answer:
    content_type = response.get("Content-Type", "")
    text = response.content.decode(response.charset or "utf-8")
    body = json.loads(text) if text and content_type.startswith("application/json") else text
    headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    return idempotency.Answer(response.status_code, body, headers)


def _replayed(answer: idempotency.Answer) -> HttpResponse:
    headers = dict(answer.headers)
    content_type = headers.pop("Content-Type", "")
    if content_type.startswith("application/json"):
        content = json.dumps(answer.body)
    else:
        content = answer.body or ""
    response = HttpResponse(content, status=answer.status, content_type=content_type or None)
    for name, value in headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response
