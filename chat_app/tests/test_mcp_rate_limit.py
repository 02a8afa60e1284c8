"""Tool calls over /mcp are limited per user (THROTTLE_MCP_CALLS_PER_USER), counted in the shared
Redis: a real uvicorn process with a small limit, a real MCP client; the window is waited out."""

from __future__ import annotations

import os
import time

import pytest

from devstack.testing import uvicorn_server
from tasks_app.accounts import api_token_issue

from .conftest import _child_env, _database_url
from .test_mcp_http import over_http

WINDOW = 3  # seconds


@pytest.fixture(scope="module")
def limited_server(django_db_setup, tmp_path_factory):
    folder = tmp_path_factory.mktemp("asgi-limited")
    env = _child_env({**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1",
                      "THROTTLE_MCP_CALLS_PER_USER": f"2/{WINDOW}s"}, folder)
    with uvicorn_server(env, folder) as process:
        yield process


def test_tool_calls_over_http_are_limited_per_user(transactional_db, limited_server, alice, bob):
    alice_token, bob_token = api_token_issue(user=alice), api_token_issue(user=bob)
    _, results = over_http(limited_server.url, alice_token, [("list_tasks", {})] * 3)
    assert [result.is_error for result in results] == [False, False, True]
    message = results[2].content[0].text
    assert "rate limit: at most 2 tool calls per 3 seconds; try again in" in message, message

    # Another user has a budget of their own.
    _, (bobs,) = over_http(limited_server.url, bob_token, [("list_tasks", {})])
    assert not bobs.is_error

    time.sleep(WINDOW + 0.5)
    _, (again,) = over_http(limited_server.url, alice_token, [("list_tasks", {})])
    assert not again.is_error
