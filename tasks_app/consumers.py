"""The live-updates WebSocket at /ws/tasks/ (routed in tasks_app/routing.py).

Authentication (`user_required`, in front of the consumer): `?ticket=<ticket>`
when given (any client: a single-use ticket from POST /api/auth/ws-ticket, good
for WS_TICKET_TTL_SECONDS, so the long-lived API token never appears in a URL),
otherwise the Django session (the dashboard page), which counts only when the
Origin header names one of ALLOWED_HOSTS (todo_project.origins), so that another
site cannot open a socket with a visitor's cookies.  `?token=` is refused.  The
user comes from those alone: a connection joins its own user's group and nothing
else, plus the group of the credential it came with (the token behind the ticket,
or the session), so that revoking the token or logging out closes it (code 4401).
A connection without a user is accepted and closed at once with code 4401, which
a page can tell apart from a network failure (log in again rather than
reconnect); it never reaches the consumer, so it costs no channel-layer (Redis) work.

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
    """ASGI middleware: run `app` with scope["user"] set to the authenticated user (and
    scope["live_groups"] to the groups to join), or refuse."""

    async def guard(scope, receive, send):
        found = await authenticated_user(scope)
        if found is None:
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHORIZED})
            return
        user, groups = found
        await app({**scope, "user": user, "live_groups": groups}, receive, send)

    return guard


async def authenticated_user(scope):
    """(user, groups to join) or None."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if "token" in query:
        # The long-lived token is not taken in a URL (proxies and logs keep URLs); use a ticket.
        return None
    if "ticket" in query:
        # An explicit ticket decides alone: a wrong one is refused even beside a session.
        return await database_sync_to_async(accounts.ws_ticket_redeem)(query["ticket"][0])
    user = scope.get("user")  # from the session (channels.auth.AuthMiddleware)
    session = scope.get("session")
    if user is not None and user.is_authenticated and origin_allowed(scope):
        groups = [live.user_group(user.pk)]
        if session is not None and session.session_key:
            groups.append(live.session_group(session.session_key))
        return user, groups
    return None


class TaskUpdatesConsumer(AsyncJsonWebsocketConsumer):
    """One open page: in its user's group (scope["user"], set by `user_required`) while connected."""

    live_groups: tuple[str, ...] = ()
    _renewer: asyncio.Task | None = None

    async def connect(self):
        # Join before accepting: a page reloads its list once the socket is open, and
        # every event committed after that reload then reaches it.  The user's group
        # (events) and the credential's (revocation, logout): scope["live_groups"].
        self.live_groups = tuple(self.scope["live_groups"])
        for group in self.live_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self._renewer = asyncio.create_task(self._renew_membership())

    async def disconnect(self, code):
        if self._renewer is not None:
            self._renewer.cancel()
        for group in self.live_groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Clients send nothing that matters; whatever arrives is ignored."""

    async def live_update(self, message):
        await self.send_json(message["update"])

    async def auth_revoked(self, message):
        """The token or session this socket was opened with is gone (live.sockets_close)."""
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def _renew_membership(self):
        while True:
            await asyncio.sleep(MEMBERSHIP_RENEW_SECONDS)
            try:
                for group in self.live_groups:
                    await self.channel_layer.group_add(group, self.channel_name)
            except (RedisError, OSError):
                # Redis unreachable: let the page reconnect (and reload) rather than go quietly deaf.
                logger.warning("live socket could not renew its group membership; closing it", exc_info=True)
                await self.close(code=CLOSE_TRY_AGAIN)
                return
