"""`manage.py mcp_stdio --user USER`: a desktop MCP client's view, through a real stdio session."""

import sys

import mcp
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from mcp import StdioServerParameters

from tasks_app.models import Task

from .conftest import BASE_DIR, tool_json


def over_stdio(env, username: str, calls, after_each=None):
    """The results of `calls` in one stdio session (one process start: seconds).  With `after_each`,
    a list of (result, after_each()) pairs instead: it runs on the test's thread (and database
    connection) after each call, before the next."""
    params = StdioServerParameters(command=sys.executable, args=["manage.py", "mcp_stdio", "--user", username],
                                   env=env, cwd=str(BASE_DIR))
    observe = sync_to_async(after_each, thread_sensitive=True) if after_each else None

    async def run():
        async with mcp.Client(params) as client:
            results = []
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                results.append((result, await observe()) if observe else result)
            return results

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_stdio_server_acts_as_the_given_user_only(child_env, alice, bob):
    tool_json(bob, "add_task", {"title": "Bob's plan"})
    added, listed = over_stdio(child_env, "alice", [
        ("add_task", {"title": "From the desktop", "tags": ["stdio"]}),
        ("list_tasks", {}),
    ])
    assert Task.objects.get(pk=added.structured_content["id"]).user == alice
    assert [item["title"] for item in listed.structured_content["items"]] == ["From the desktop"]
