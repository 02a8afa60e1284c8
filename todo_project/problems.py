"""The one error shape of the REST API: RFC 9457 problem details (`application/problem+json`).

Every error under /api/ is built here: the exception handlers of todo_project.api, the
middleware below (for what Django or ninja answer before an endpoint runs: an unknown route,
a method the path does not take) and the ASGI body limit (todo_project.body_limit).

    {"type": "/problems/validation", "title": "Invalid request values", "status": 422,
     "detail": "title: must not be empty", "errors": [{"location": "body", "field": "title",
     "message": "must not be empty"}]}

`type` names the kind of problem and never changes for it (clients branch on it); `title`
is that kind in words; `detail` is this occurrence in words; `errors` (422 only) has one
entry per bad value.  The words of a domain error come from tasks_app.errors, as for MCP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin
from ninja import Schema
from pydantic import Field

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"


@dataclass(frozen=True)
class ProblemKind:
    slug: str
    status: int
    title: str
    meaning: str  # documented in the OpenAPI schema of `type` and in the README

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}" if self.slug else "about:blank"


MALFORMED_REQUEST = ProblemKind("malformed-request", 400, "Unreadable request",
                                "The body is not JSON (or not the JSON object the operation takes).")
UNAUTHENTICATED = ProblemKind("unauthenticated", 401, "Authentication required",
                              "No valid credentials: a missing, unknown, expired or revoked token, or a wrong "
                              "username or password. Comes with `WWW-Authenticate: Bearer`.")
FORBIDDEN = ProblemKind("forbidden", 403, "Not allowed",
                        "Understood, but refused: sign-up is off, or a browser session's request lacks its CSRF token.")
QUOTA_EXCEEDED = ProblemKind("quota-exceeded", 403, "Quota exceeded",
                             "The change would take you past a storage quota (tasks, tags, conversations, "
                             "messages per conversation).")
NOT_FOUND = ProblemKind("not-found", 404, "Not found",
                        "No such object among yours (another user's reads the same), or no such API endpoint.")
METHOD_NOT_ALLOWED = ProblemKind("method-not-allowed", 405, "Method not allowed",
                                 "The path exists but does not take this method; `Allow` lists those it takes.")
CONFLICT = ProblemKind("conflict", 409, "Conflict", "The request clashes with what exists (a username already taken; "
                                                   "nothing left to undo, or a task changed since in a way undo cannot revert).")
PRECONDITION_FAILED = ProblemKind("precondition-failed", 412, "Precondition failed",
                                  "`If-Match` names a version of the task that is no longer current: GET it again, "
                                  "reapply your change and retry.")
BODY_TOO_LARGE = ProblemKind("body-too-large", 413, "Request body too large",
                             "The body is larger than REQUEST_BODY_MAX_BYTES; it was not read.")
VALIDATION = ProblemKind("validation", 422, "Invalid request values",
                         "One or more values are missing or invalid; `errors` names each one.")
RATE_LIMITED = ProblemKind("rate-limited", 429, "Too many requests",
                           "A rate limit, a sign-in lockout or today's language-model budget; `Retry-After` says "
                           "how many seconds until it lifts.")
SERVER_ERROR = ProblemKind("server-error", 500, "Internal server error", "A bug on our side; it is logged.")
DATABASE_UNAVAILABLE = ProblemKind("database-unavailable", 503, "Database unavailable",
                                   "The database could not serve the request (an outage, a timeout, a lock); nothing "
                                   "of it was committed unless said otherwise. `Retry-After` says when to try again.")

PROBLEM_KINDS = (MALFORMED_REQUEST, UNAUTHENTICATED, FORBIDDEN, QUOTA_EXCEEDED, NOT_FOUND, METHOD_NOT_ALLOWED,
                 CONFLICT, PRECONDITION_FAILED, BODY_TOO_LARGE, VALIDATION, RATE_LIMITED, SERVER_ERROR,
                 DATABASE_UNAVAILABLE)
# The kind an error of a status is when nothing more specific is known (an HttpError, a middleware's answer).
KIND_BY_STATUS = {kind.status: kind for kind in PROBLEM_KINDS if kind not in (QUOTA_EXCEEDED,)}


def kind_for_status(status: int) -> ProblemKind:
    """The registered kind of a status, or RFC 9457's `about:blank` (the status says it all)."""
    if status in KIND_BY_STATUS:
        return KIND_BY_STATUS[status]
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return ProblemKind("", status, phrase, "")


# --------------------------------------------------------------------------- the schema


class FieldError(Schema):
    location: str = Field(description="Where the value was: `body`, `query`, `path` or `header`")
    field: str | None = Field(description="The value's name (dotted for a nested one, e.g. `tags.3`); "
                                          "null for an error of the request as a whole")
    message: str


class ProblemDetails(Schema):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(description="The kind of problem, stable; branch on this. One of:\n\n" + "\n".join(
        f"- `{kind.type}` ({kind.status}): {kind.meaning}" for kind in PROBLEM_KINDS)
        + "\n- `about:blank`: any other status; the status says it all.",
        json_schema_extra={"enum": [kind.type for kind in PROBLEM_KINDS] + ["about:blank"]})
    title: str = Field(description="The kind of problem in words; the same for every occurrence")
    status: int = Field(description="The HTTP status code of this response")
    detail: str = Field(description="This occurrence in words, naming what was wrong")
    errors: list[FieldError] | None = Field(None, description="For 422: one entry per missing or invalid value")


def documented(success: dict[int, Any] | Any, *errors: int | tuple[int, ...]) -> dict[int, Any]:
    """A `response=` declaration: the success schema(s) plus ProblemDetails for each error status
    (ints or the tuples below), and 503 (the database may fail under any call)."""
    declared = dict(success) if isinstance(success, dict) else {200: success}
    statuses = {DATABASE_UNAVAILABLE.status}
    for item in errors:
        statuses.update(item if isinstance(item, tuple) else (item,))
    declared.update({status: ProblemDetails for status in sorted(statuses)})
    return declared


# What a kind of call can answer beside its own errors.
SIGNED_IN = (UNAUTHENTICATED.status,)
SIGNED_IN_WRITE = (UNAUTHENTICATED.status, FORBIDDEN.status)  # 403: a session caller without its CSRF token
JSON_BODY = (MALFORMED_REQUEST.status, BODY_TOO_LARGE.status, VALIDATION.status)


# --------------------------------------------------------------------------- building one


def problem_body(kind: ProblemKind, detail: str, errors: list[dict] | None = None,
                 extensions: dict | None = None) -> dict:
    """`extensions`: RFC 9457 extension members an operation documents (a subclass of ProblemDetails)."""
    body = {"type": kind.type, "title": kind.title, "status": kind.status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return {**body, **(extensions or {})}


def problem_response(kind: ProblemKind, detail: str, *, errors: list[dict] | None = None,
                     extensions: dict | None = None, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(problem_body(kind, detail, errors, extensions), cls=DjangoJSONEncoder),
                            status=kind.status, content_type=PROBLEM_CONTENT_TYPE)
    if kind.status == UNAUTHENTICATED.status:
        response["WWW-Authenticate"] = 'Bearer realm="api"'  # RFC 9110: every 401 names its scheme
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def validation_problem(errors: list[dict], *, detail: str | None = None, extensions: dict | None = None) -> HttpResponse:
    """422 from FieldError-shaped entries; `detail` lists them in one line unless given."""
    detail = detail or "; ".join(f"{error['field']}: {error['message']}" if error["field"] else error["message"]
                                 for error in errors) or VALIDATION.title
    return problem_response(VALIDATION, detail, errors=errors, extensions=extensions)


class ApiErrorsAsProblems(MiddlewareMixin):
    """Error answers under /api/ that no exception handler built (an unknown route's 404, ninja's
    405, Django's 400 for a bad Host, a 500) get the same shape."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (response.status_code < 400 or not request.path_info.startswith(API_PREFIX)
                or response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)):
            return response
        if response.status_code >= 500 and settings.DEBUG:
            return response  # a developer's traceback page is worth more than the shape

        kind = kind_for_status(response.status_code)
        if kind is NOT_FOUND:
            detail = f"no API endpoint at {request.path_info}"
        elif kind is METHOD_NOT_ALLOWED:
            detail = f"{request.method} is not allowed here; allowed: {response.get('Allow', '')}"
        else:
            detail = kind.title
        problem = problem_response(kind, detail)
        for name in ("Allow", "Retry-After"):
            if response.has_header(name):
                problem[name] = response[name]
        return problem
