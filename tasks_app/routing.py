"""WebSocket routes, mounted by todo_project.asgi behind the session middleware."""

from django.urls import path, re_path

from .consumers import TaskUpdatesConsumer, user_required


async def refuse_handshake(scope, receive, send):
    """Any other WebSocket path: refuse the handshake (HTTP 403) rather than fail with an error.
    (Not Channels' WebsocketDenier: being a consumer, it would start a channel-layer receive first.)"""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


websocket_urlpatterns = [
    path("ws/tasks/", user_required(TaskUpdatesConsumer.as_asgi())),
    re_path(r"", refuse_handshake),
]
