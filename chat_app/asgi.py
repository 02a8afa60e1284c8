"""Serves the MCP tools at /mcp (streamable HTTP, Bearer token) in front of the project's ASGI app.

`todo_project.asgi` wraps its application once: `application = with_mcp(django_app)`.
Whatever the inner app becomes (Django, a Channels ProtocolTypeRouter), requests to
/mcp are answered here and everything else, WebSockets included, goes to it.

Stateless mode with JSON responses: every POST is a complete exchange, so any web
replica can answer any request (no sticky sessions behind a load balancer).  The
SDK's session manager needs a running task group; it is started on the first
/mcp request, so the mount works under servers that send no ASGI lifespan events.
"""

from __future__ import annotations

import asyncio
import json

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from mcp.server.transport_security import TransportSecuritySettings

from todo_project.origins import host_allowed

from .mcp_server import build_server

MCP_PATH = "/mcp"


class McpMount:
    def __init__(self, app):
        self.app = app
        self.server = build_server()
        self.mcp_app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            # The Host is checked against Django's ALLOWED_HOSTS (todo_project.origins); the SDK's own
            # check knows only localhost.  The Bearer token already keeps DNS-rebinding pages out.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._running: asyncio.Future | None = None
        self._manager_task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"].rstrip("/") == MCP_PATH:
            await self._serve_mcp(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve_mcp(self, scope, receive, send):
        if not host_allowed(scope):
            await _plain_response(send, 400, {"error": "invalid_host", "error_description": "Host not allowed"})
            return
        await self._ensure_running()
        # What Django's request_started / request_finished do: no stale or leaked DB connections.
        await sync_to_async(close_old_connections, thread_sensitive=True)()
        try:
            await self.mcp_app(scope, receive, send)
        finally:
            await sync_to_async(close_old_connections, thread_sensitive=True)()

    async def _ensure_running(self):
        if self._running is None:
            self._running = asyncio.get_running_loop().create_future()
            self._manager_task = asyncio.create_task(self._run_session_manager(self._running))
        await asyncio.shield(self._running)

    async def _run_session_manager(self, running: asyncio.Future):
        try:
            async with self.server.session_manager.run():
                running.set_result(None)
                await asyncio.Event().wait()  # until cancelled at shutdown
        except BaseException as exc:
            if not running.done():
                running.set_exception(exc if isinstance(exc, Exception) else RuntimeError("MCP stopped"))
            raise

    async def _lifespan(self, receive, send):
        # The inner Django app does not speak lifespan; answer for it and stop MCP cleanly at shutdown.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._manager_task is not None:
                    self._manager_task.cancel()
                    await asyncio.gather(self._manager_task, return_exceptions=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def with_mcp(app) -> McpMount:
    return McpMount(app)


async def _plain_response(send, status: int, body: dict):
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
