"""Live updates: every open page of a user (a WebSocket at /ws/tasks/) sits in that
user's Channels group; after commit each domain event is sent there, through the Redis
channel layer, by the live feed's drain job (`workers.drain_live`, the events of many commits
in one job).

A push that is lost (Redis down, worker gone) is not re-sent: a page reloads its
list whenever its socket (re)connects, so it catches up on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from . import events
from .models import OutboxEvent

# The consumer's handlers for group messages (tasks_app.consumers.TaskUpdatesConsumer.live_update, .auth_revoked).
MESSAGE_TYPE = "live.update"
REVOKED_MESSAGE_TYPE = "auth.revoked"


def user_group(user_id: int) -> str:
    """The Channels group of one user's open pages; only the server picks the user id."""
    return f"tasks.user.{int(user_id)}"


def token_group(token_id: int) -> str:
    """The sockets opened with one API token (through a ticket): closed when it is revoked."""
    return f"tasks.token.{int(token_id)}"


def session_group(session_key: str) -> str:
    """The sockets opened with one browser session: closed when it logs out."""
    return "tasks.session." + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def sockets_close(group: str) -> None:
    """Close every socket in `group` (a user's, a token's or a session's): its credentials are gone."""
    async_to_sync(get_channel_layer().group_send)(group, {"type": REVOKED_MESSAGE_TYPE})


def live_message(event: OutboxEvent) -> dict[str, Any]:
    """`events.live_update` of the event; a due reminder also carries its notification."""
    message = events.live_update(event_id=str(event.event_id), event_type=event.type, task_id=event.task_id,
                                 user_id=event.user_id, payload=event.payload)
    if event.type == events.REMINDER_DUE:
        data = event.payload["data"]
        message["notification"] = {"id": data["notification_id"], "message": data["message"]}
    return message


# A job's sends give up after this long (the live jobs' soft limit is 15 s): a push is only a hint.
SEND_TIMEOUT_SECONDS = 10

_sender_lock = threading.Lock()
_sender: tuple[int, asyncio.AbstractEventLoop] | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for the jobs' channel-layer sends, running in a thread of its own.

    The Redis channel layer keeps one connection pool per event loop and closes it with the loop;
    async_to_sync, called from a job, starts a new loop each time, so every push opened (and closed) a
    Redis connection of its own: a third of the worker's CPU for a lone create (bench/load.py with
    py-spy, docs/performance.md).  One loop per process keeps the connection.  Made on first use in each
    process (keyed by pid): a prefork pool process does not inherit its parent's thread."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-sender", daemon=True).start()
            _sender = (os.getpid(), loop)
        return _sender[1]


def _send(sends: Callable[[], Awaitable[None]]) -> None:
    """Run `sends()` on this process's sender loop and wait for it (at most SEND_TIMEOUT_SECONDS); its
    error is raised here.  Left unfinished (a time limit, a timeout), it is cancelled."""
    future = asyncio.run_coroutine_threadsafe(sends(), _sender_loop())
    try:
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    finally:
        future.cancel()  # a no-op once it is done


def live_push(*, event_id: str) -> bool:
    """Send outbox event `event_id` to its user's open pages; False when there is nothing to send."""
    event = OutboxEvent.objects.filter(event_id=event_id).first()
    if event is None or event.user_id is None:
        return False
    _send(lambda: get_channel_layer().group_send(
        user_group(event.user_id), {"type": MESSAGE_TYPE, "update": live_message(event)}))
    return True


def live_push_many(*, event_ids: list[str], since=None) -> int:
    """Send many outbox events, in commit order, to their users' open pages through one channel
    layer connection (the events of one commit or of many, workers.dispatch); with `since`, only
    those recorded since then (older ones are of no use to a page).  Returns the messages sent."""
    found = OutboxEvent.objects.filter(event_id__in=event_ids)
    if since is not None:
        found = found.filter(created_at__gte=since)
    events_ = [e for e in found.order_by("id") if e.user_id is not None]

    async def send_all():
        layer = get_channel_layer()
        for event in events_:
            await layer.group_send(user_group(event.user_id), {"type": MESSAGE_TYPE, "update": live_message(event)})

    if events_:
        _send(send_all)
    return len(events_)
