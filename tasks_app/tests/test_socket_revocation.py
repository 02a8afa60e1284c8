"""WebSocket tickets are single-use and short-lived; revoking a token, logging out or changing
the password closes the sockets opened with them (real ASGI app, real Redis channel layer)."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from tasks_app import accounts

from .test_live_socket import PATH, WAIT, assert_still_open, close_code, open_socket, session_headers

pytestmark = pytest.mark.django_db(transaction=True)


def ticket_with(client: Client) -> str:
    response = client.post("/api/auth/ws-ticket")
    assert response.status_code == 200, response.content
    assert response.json()["expires_in"] == settings.WS_TICKET_TTL_SECONDS
    return response.json()["ticket"]


async def closed_with(socket) -> int:
    message = await socket.receive_output(timeout=WAIT)
    assert message["type"] == "websocket.close", message
    return message["code"]


def test_a_ticket_opens_one_socket_only(alice):
    ticket = ticket_with(Client(headers={"Authorization": f"Bearer {accounts.api_token_issue(user=alice)}"}))

    async def scenario():
        socket = await open_socket(f"{PATH}?ticket={ticket}")
        await assert_still_open(socket, alice)
        await socket.disconnect()

    async_to_sync(scenario)()
    assert async_to_sync(close_code)(f"{PATH}?ticket={ticket}") == 4401


def test_a_ticket_expires(alice, settings):
    settings.WS_TICKET_TTL_SECONDS = 1
    ticket = ticket_with(Client(headers={"Authorization": f"Bearer {accounts.api_token_issue(user=alice)}"}))
    time.sleep(1.5)
    assert async_to_sync(close_code)(f"{PATH}?ticket={ticket}") == 4401


def test_a_ticket_dies_with_its_token(alice):
    token = accounts.api_token_issue(user=alice)
    api = Client(headers={"Authorization": f"Bearer {token}"})
    ticket = ticket_with(api)
    assert api.delete("/api/auth/token").status_code == 204
    assert async_to_sync(close_code)(f"{PATH}?ticket={ticket}") == 4401


def test_revoking_a_token_closes_its_sockets_only(alice):
    revoked = Client(headers={"Authorization": f"Bearer {accounts.api_token_issue(user=alice)}"})
    kept = Client(headers={"Authorization": f"Bearer {accounts.api_token_issue(user=alice)}"})
    doomed_ticket, kept_ticket = ticket_with(revoked), ticket_with(kept)
    revoke = database_sync_to_async(lambda: revoked.delete("/api/auth/token").status_code)

    async def scenario():
        doomed = await open_socket(f"{PATH}?ticket={doomed_ticket}")
        survivor = await open_socket(f"{PATH}?ticket={kept_ticket}")
        assert await revoke() == 204
        assert await closed_with(doomed) == 4401
        await assert_still_open(survivor, alice)
        await survivor.disconnect()

    async_to_sync(scenario)()


def test_logging_out_closes_that_sessions_sockets(alice):
    browser = Client()
    browser.force_login(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"cookie", cookie.encode()), (b"origin", b"http://testserver"), (b"host", b"testserver")]
    other_browser = session_headers(alice)
    log_out = database_sync_to_async(lambda: browser.post("/accounts/logout/").status_code)

    async def scenario():
        page = await open_socket(PATH, headers)
        other_page = await open_socket(PATH, other_browser)
        assert await log_out() == 302
        assert await closed_with(page) == 4401
        await assert_still_open(other_page, alice)
        await other_page.disconnect()

    async_to_sync(scenario)()


def test_a_password_change_closes_all_the_users_sockets(alice, bob):
    ticket = ticket_with(Client(headers={"Authorization": f"Bearer {accounts.api_token_issue(user=alice)}"}))
    alices_headers, bobs_headers = session_headers(alice), session_headers(bob)

    def change_password():
        alice.set_password("a-New-passphrase-7")
        alice.save()

    async def scenario():
        by_ticket = await open_socket(f"{PATH}?ticket={ticket}")
        by_session = await open_socket(PATH, alices_headers)
        bobs = await open_socket(PATH, bobs_headers)
        await database_sync_to_async(change_password)()
        assert await closed_with(by_ticket) == 4401
        assert await closed_with(by_session) == 4401
        await assert_still_open(bobs, bob)
        await bobs.disconnect()

    async_to_sync(scenario)()
