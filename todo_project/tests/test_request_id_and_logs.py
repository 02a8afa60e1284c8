"""Every request has an id (the caller's when it is sane), answered in X-Request-ID and written on
its log lines; LOG_FORMAT=json makes every log record one JSON object per line, with one access
line per request."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from todo_project import request_id
from todo_project.json_logs import JsonFormatter

BASE_DIR = Path(__file__).resolve().parents[2]


class CapturedLines(logging.Handler):
    """The lines the console handler would print: the project's filter and a chosen formatter."""

    def __init__(self, formatter: logging.Formatter):
        super().__init__(level=logging.DEBUG)
        self.addFilter(request_id.RequestIdFilter())
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines():
    handler = CapturedLines(JsonFormatter())
    logger = logging.getLogger("todo.access")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_sane_caller_id_is_kept_answered_and_logged(alice_api, alice, access_lines):
    response = alice_api.get("/api/tasks", HTTP_X_REQUEST_ID="edge-proxy.4f2a:77")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-proxy.4f2a:77"

    [line] = [json.loads(text) for text in access_lines]
    assert line["request_id"] == "edge-proxy.4f2a:77"
    assert (line["method"], line["path"], line["status"], line["user_id"]) == ("GET", "/api/tasks", 200, alice.pk)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert {"time", "level", "logger", "message"} <= line.keys()
    assert line["logger"] == "todo.access"


@pytest.mark.django_db
@pytest.mark.parametrize("sent", ["has space", "x" * 65, "quote\"d", "new\nline", "émoji☃", ""])
def test_an_unsafe_or_missing_caller_id_is_replaced_with_a_new_one(sent, access_lines):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)
    answered = response["X-Request-ID"]
    assert answered != sent
    assert len(answered) == 32 and int(answered, 16) >= 0  # uuid4 hex
    assert json.loads(access_lines[-1])["request_id"] == answered


@pytest.mark.django_db
def test_two_requests_without_an_id_get_different_ones():
    first, second = Client().get("/healthz"), Client().get("/healthz")
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.django_db
def test_an_anonymous_request_is_logged_without_a_user(access_lines):
    Client().get("/healthz")
    assert json.loads(access_lines[-1])["user_id"] is None


def test_log_lines_of_a_request_carry_its_id_outside_none():
    handler = CapturedLines(JsonFormatter())
    logger = logging.getLogger("todo.test.request_id")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with request_id.bound("abc123"):
            logger.info("inside", extra={"count": 3})
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in handler.lines)
    assert (inside["message"], inside["request_id"], inside["count"]) == ("inside", "abc123", 3)
    assert outside["request_id"] is None


def test_exceptions_are_one_json_line_with_the_traceback():
    handler = CapturedLines(JsonFormatter())
    logger = logging.getLogger("todo.test.request_id")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    [line] = handler.lines
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def _run_logging_process(env_overrides: dict, service_env: dict, code: str) -> subprocess.CompletedProcess:
    env = {**service_env, **env_overrides}
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=120)


REQUEST_IN_A_PROCESS = ("import django, logging; django.setup(); from django.test import Client; "
                        "Client().get('/healthz', HTTP_X_REQUEST_ID='proc-77'); "
                        "logging.getLogger('todo.demo').warning('after the request')")


@pytest.mark.django_db
def test_log_format_json_makes_every_line_of_a_process_json(service_env):
    """The settings wire it: a real process with LOG_FORMAT=json prints only JSON lines on stderr."""
    result = _run_logging_process({"LOG_FORMAT": "json"}, service_env, REQUEST_IN_A_PROCESS)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "todo.access"]
    assert [(a["request_id"], a["method"], a["path"], a["status"]) for a in access] == [
        ("proc-77", "GET", "/healthz", 200)]
    [after] = [line for line in lines if line["logger"] == "todo.demo"]
    assert after["level"] == "WARNING" and after["request_id"] is None


@pytest.mark.django_db
def test_the_default_log_format_stays_readable_with_the_request_id(service_env):
    result = _run_logging_process({"LOG_FORMAT": ""}, service_env, REQUEST_IN_A_PROCESS)
    assert result.returncode == 0, result.stderr
    [access] = [line for line in result.stderr.splitlines() if " todo.access " in line]
    assert "[proc-77] GET /healthz 200 " in access
    assert not access.startswith("{")


def test_an_unknown_log_format_is_refused(service_env):
    result = _run_logging_process({"LOG_FORMAT": "xml"}, service_env,
                                  "import django; django.setup()")
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr and "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize("carried", [None, 42, ["a"], {"id": "x"}, "ok-id\r\nX-Injected: 1"])
def test_whatever_a_job_message_carries_only_a_sane_id_is_used(carried):
    kept = request_id.accepted(carried)
    assert kept != carried and len(kept) == 32
    assert request_id.accepted("job-7") == "job-7"
