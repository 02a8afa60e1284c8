"""The live-updates WebSocket at /ws/tasks/ (routed in tasks_app/routing.py).

Authentication (`user_required`, in front of the consumer): `?token=<API token>`
when given (any client), otherwise the Django session (the dashboard page),
which counts only when the Origin header names one of ALLOWED_HOSTS
(todo_project.origins), so that another site cannot open a socket with a
visitor's cookies.  The user comes from those alone: a connection joins its own
user's group and nothing else.  A connection without a user is accepted and
closed at once with code 4401, which a page can tell apart from a network
failure (log in again rather than reconnect); it never reaches the consumer, so
it costs no channel-layer (Redis) work.

Server to client only: each message is one `tasks_app.live.live_message` as JSON.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from todo_project.origins import origin_allowed

from . import accounts, live

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013
# Group membership expires in the Redis layer (group_expiry, a day by default); a
# connection that stays open longer renews its own.
MEMBERSHIP_RENEW_SECONDS = 3600


def user_required(app):
    """ASGI middleware: run `app` with scope["user"] set to the authenticated user, or refuse."""

    async def guard(scope, receive, send):
        user = await authenticated_user(scope)
        if user is None:
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHORIZED})
            return
        await app({**scope, "user": user}, receive, send)

    return guard


async def authenticated_user(scope):
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if tokens is not None:
        # An explicit token decides alone: a wrong one is refused even beside a session.
        return await database_sync_to_async(accounts.api_token_authenticate)(tokens[0])
    user = scope.get("user")  # from the session (channels.auth.AuthMiddleware)
    if user is not None and user.is_authenticated and origin_allowed(scope):
        return user
    return None


class TaskUpdatesConsumer(AsyncJsonWebsocketConsumer):
    """One open page: in its user's group (scope["user"], set by `user_required`) while connected."""

    group: str | None = None
    _renewer: asyncio.Task | None = None

    async def connect(self):
        # Join before accepting: a page reloads its list once the socket is open, and
        # every event committed after that reload then reaches it.
        self.group = live.user_group(self.scope["user"].pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self._renewer = asyncio.create_task(self._renew_membership())

    async def disconnect(self, code):
        if self._renewer is not None:
            self._renewer.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Clients send nothing that matters; whatever arrives is ignored."""

    async def live_update(self, message):
        await self.send_json(message["update"])

    async def _renew_membership(self):
        while True:
            await asyncio.sleep(MEMBERSHIP_RENEW_SECONDS)
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
            except (RedisError, OSError):
                # Redis unreachable: let the page reconnect (and reload) rather than go quietly deaf.
                logger.warning("live socket could not renew its group membership; closing it", exc_info=True)
                await self.close(code=CLOSE_TRY_AGAIN)
                return
