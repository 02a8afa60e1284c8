"""/mcp over streamable HTTP: the project's ASGI app under uvicorn, a real MCP client, API tokens."""

import httpx2
import mcp
from asgiref.sync import async_to_sync
from mcp.client.streamable_http import streamable_http_client

from tasks_app.accounts import api_token_issue
from tasks_app.models import Task

from .conftest import tool_json


def over_http(url: str, token: str, calls: list[tuple[str, dict]]):
    async def run():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with mcp.Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                tools = await client.list_tools()
                results = [await client.call_tool(name, arguments) for name, arguments in calls]
                return tools.tools, results

    return async_to_sync(run)()


def test_token_owner_is_the_user_of_every_tool_call(asgi_server, alice, bob):
    bobs = tool_json(bob, "add_task", {"title": "Bob's plan"})
    tools, (added, listed, peek) = over_http(asgi_server.url, api_token_issue(user=alice), [
        ("add_task", {"title": "Over HTTP", "priority": "P2", "tags": ["remote"]}),
        ("list_tasks", {}),
        ("get_task", {"task_id": bobs["id"]}),
    ])
    assert {tool.name for tool in tools} >= {"add_task", "list_tasks", "complete_task", "list_notifications"}
    assert added.structured_content["title"] == "Over HTTP"
    assert Task.objects.get(pk=added.structured_content["id"]).user == alice
    assert [item["title"] for item in listed.structured_content["items"]] == ["Over HTTP"]
    assert peek.is_error and "task not found" in peek.content[0].text

    _, (bob_list,) = over_http(asgi_server.url, api_token_issue(user=bob), [("list_tasks", {})])
    assert [item["title"] for item in bob_list.structured_content["items"]] == ["Bob's plan"]


def test_mcp_without_a_valid_token_is_401(asgi_server, alice):
    alice.is_active = False
    alice.save()
    inactive = api_token_issue(user=alice)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": f"Bearer {inactive}"}]:
        response = httpx2.post(f"{asgi_server.url}/mcp", json=body, timeout=10,
                               headers={**headers, "Accept": "application/json, text/event-stream"})
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_rest_of_the_site_is_still_django(asgi_server, alice):
    assert httpx2.get(f"{asgi_server.url}/healthz", timeout=10).status_code == 200
    assert httpx2.get(f"{asgi_server.url}/", timeout=10, follow_redirects=False).status_code == 302


def test_an_unknown_host_is_refused(asgi_server, alice):
    token = api_token_issue(user=alice)
    response = httpx2.post(f"{asgi_server.url}/mcp", json={}, timeout=10,
                           headers={"Host": "evil.example", "Authorization": f"Bearer {token}"})
    assert response.status_code == 400


def test_the_agents_sdk_can_use_the_http_endpoint_too(asgi_server, alice):
    from agents.mcp import MCPServerStreamableHttp

    token = api_token_issue(user=alice)

    async def run():
        server = MCPServerStreamableHttp(params={"url": f"{asgi_server.url}/mcp",
                                                 "headers": {"Authorization": f"Bearer {token}"}}, name="todo-http")
        async with server:
            tools = await server.list_tools()
            result = await server.call_tool("add_task", {"title": "Via the SDK over HTTP"})
        return tools, result

    tools, result = async_to_sync(run)()
    assert "list_tasks" in {tool.name for tool in tools}
    assert not result.is_error
    assert Task.objects.get(title="Via the SDK over HTTP").user == alice
