"""The live-updates WebSocket at /ws/tasks/, driven through the project's real ASGI application
(MCP mount, Channels router, session middleware) on the real Redis channel layer: who may
connect, and that each socket hears its own user's events only, pushed by a real Celery worker."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tasks_app import accounts, live, services
from tasks_app.models import Notification
from todo_project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/tasks/"
WAIT = 10  # seconds; an upper bound for a push to arrive, never a pause


def session_headers(user, origin: str = "http://testserver") -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), (b"origin", origin.encode()), (b"host", b"testserver")]


async def open_socket(path: str = PATH, headers=()) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await socket.connect(timeout=WAIT)
    assert connected, f"{path} was refused"
    return socket


async def assert_still_open(socket: WebsocketCommunicator, user) -> None:
    """A message sent to `user`'s group now arrives on `socket`: it is open and in that group.  A close
    sent to it before (a revocation, a refused origin) would arrive first: a positive marker, not a
    wait for silence."""
    from channels.layers import get_channel_layer

    marker = {"type": "test.marker", "sent": uuid.uuid4().hex}
    await get_channel_layer().group_send(live.user_group(user.pk), {"type": live.MESSAGE_TYPE, "update": marker})
    assert await socket.receive_json_from(timeout=WAIT) == marker


async def close_code(path: str = PATH, headers=()) -> int | str:
    """How the server ends a connection attempt: the close code after accepting, or "handshake refused"."""
    socket = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await socket.connect(timeout=WAIT)
    if not connected:
        return "handshake refused"
    message = await socket.receive_output(timeout=WAIT)
    assert message["type"] == "websocket.close", message
    await socket.disconnect(code=message.get("code", 1000), timeout=WAIT)
    return message.get("code")


def test_a_socket_without_credentials_is_refused():
    assert async_to_sync(close_code)() == 4401


def ticket_for(user) -> str:
    """A WebSocket ticket, from the real endpoint, with a fresh API token of `user`."""
    api = Client(headers={"Authorization": f"Bearer {accounts.api_token_issue(user=user)}"})
    response = api.post("/api/auth/ws-ticket")
    assert response.status_code == 200, response.content
    return response.json()["ticket"]


def test_a_socket_with_a_bad_ticket_is_refused(alice):
    assert async_to_sync(close_code)(f"{PATH}?ticket=not-a-real-ticket") == 4401
    assert async_to_sync(close_code)(f"{PATH}?ticket=") == 4401
    # An explicit ticket decides alone: a wrong one is refused even beside a valid session.
    assert async_to_sync(close_code)(f"{PATH}?ticket=wrong", session_headers(alice)) == 4401


def test_the_long_lived_token_is_not_taken_in_the_url(alice):
    token = accounts.api_token_issue(user=alice)
    assert async_to_sync(close_code)(f"{PATH}?token={token}") == 4401
    assert async_to_sync(close_code)(f"{PATH}?token={token}", session_headers(alice)) == 4401


def test_a_ticket_of_a_deactivated_user_is_refused(alice):
    ticket = ticket_for(alice)
    alice.is_active = False
    alice.save()
    assert async_to_sync(close_code)(f"{PATH}?ticket={ticket}") == 4401


def test_a_session_counts_only_from_a_page_of_this_site(alice):
    assert async_to_sync(close_code)(PATH, session_headers(alice, origin="https://evil.example")) == 4401
    headers_without_origin = [header for header in session_headers(alice) if header[0] != b"origin"]
    assert async_to_sync(close_code)(PATH, headers_without_origin) == 4401

    headers = session_headers(alice)

    async def same_site():
        socket = await open_socket(PATH, headers)
        await assert_still_open(socket, alice)
        await socket.disconnect()

    async_to_sync(same_site)()


def test_other_websocket_paths_are_refused(alice):
    assert async_to_sync(close_code)(f"/ws/other/?ticket={ticket_for(alice)}") == "handshake refused"


def test_each_socket_hears_only_its_own_users_events(alice, bob, celery_worker_process):
    alice_ticket = ticket_for(alice)
    bob_headers = session_headers(bob)
    create = database_sync_to_async(services.task_create)
    complete = database_sync_to_async(services.task_complete)
    # Already due when written: its precise job (workers.fire_reminders, armed after commit) sends it.
    reminder_notice = database_sync_to_async(lambda task_id: Notification.objects.get(task_id=task_id))

    async def scenario():
        alice_socket = await open_socket(f"{PATH}?ticket={alice_ticket}")
        bob_socket = await open_socket(PATH, bob_headers)
        try:
            plan = await create(user=alice, title="Alice's plan", priority="P1", tags=["work"])
            heard = await alice_socket.receive_json_from(timeout=WAIT)
            assert (heard["type"], heard["task_id"], heard["user_id"]) == ("todo.task.created", plan.pk, alice.pk)
            assert heard["task"]["title"] == "Alice's plan" and heard["task"]["tags"] == ["work"]

            # Alice's push has been sent (she heard it).  Had Bob's socket been in her group, that
            # message would be queued on it before the one for his own task: his first must be his.
            errand = await create(user=bob, title="Bob's errand")
            heard = await bob_socket.receive_json_from(timeout=WAIT)
            assert (heard["type"], heard["task_id"], heard["user_id"]) == ("todo.task.created", errand.pk, bob.pk)

            # And the other way round.
            await complete(task=plan)
            heard = await alice_socket.receive_json_from(timeout=WAIT)
            assert (heard["type"], heard["task_id"]) == ("todo.task.completed", plan.pk)
            assert heard["task"]["completed"] is True

            # A due reminder reaches its owner with the notification's message.
            call = await create(user=alice, title="Call the bank", reminder_minutes_before=5,
                                due_at=timezone.now() + timedelta(minutes=1))
            heard = await alice_socket.receive_json_from(timeout=WAIT)
            assert (heard["type"], heard["task_id"]) == ("todo.task.created", call.pk)
            heard = await alice_socket.receive_json_from(timeout=WAIT)
            assert (heard["type"], heard["task_id"]) == ("todo.reminder.due", call.pk)
            notification = await reminder_notice(call.pk)
            assert heard["notification"] == {"id": notification.pk,
                                             "message": "Reminder: Call the bank is due in 5 min"}

            # Bob heard nothing of it: his next message is again his own.
            await complete(task=errand)
            heard = await bob_socket.receive_json_from(timeout=WAIT)
            assert (heard["type"], heard["task_id"]) == ("todo.task.completed", errand.pk)
        finally:
            await alice_socket.disconnect()
            await bob_socket.disconnect()

    async_to_sync(scenario)()


def test_pushing_an_unknown_event_sends_nothing(alice):
    ticket = ticket_for(alice)

    async def scenario():
        socket = await open_socket(f"{PATH}?ticket={ticket}")
        try:
            assert await database_sync_to_async(live.live_push)(event_id=str(uuid.uuid4())) is False
            # Checked on a listening page, not by the return value alone: the next frame is the marker.
            await assert_still_open(socket, alice)
        finally:
            await socket.disconnect()

    async_to_sync(scenario)()
