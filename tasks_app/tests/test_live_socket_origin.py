"""Which Origin lets a page's session open the live socket: the host name decides (ALLOWED_HOSTS,
todo_project.origins, as Channels' AllowedHostsOriginValidator), the port and scheme do not (a
browser sends the session cookie to every port and scheme of the host anyway, so refusing them
would protect nothing); a name that only looks like ours is refused."""

import pytest
from asgiref.sync import async_to_sync

from .test_live_socket import PATH, close_code, session_headers

pytestmark = pytest.mark.django_db(transaction=True)


async def opened(user, headers) -> bool:
    """Accepted and joined to `user`'s group: a message sent to that group arrives (a refused session
    is accepted, then closed with 4401 at once: its first output is the close)."""
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    from tasks_app.live import MESSAGE_TYPE, user_group
    from todo_project.asgi import application

    socket = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await socket.connect(timeout=10)
    assert connected
    try:
        marker = {"type": "test.marker"}
        await get_channel_layer().group_send(user_group(user.pk), {"type": MESSAGE_TYPE, "update": marker})
        output = await socket.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return False
        assert output == {"type": "websocket.send", "text": '{"type": "test.marker"}'}, output
        return True
    finally:
        await socket.disconnect()


@pytest.mark.parametrize("origin", ["http://testserver:8443", "https://testserver", "https://testserver:444"])
def test_the_right_host_on_another_port_or_scheme_is_the_same_site(alice, origin):
    assert async_to_sync(opened)(alice, session_headers(alice, origin=origin))


@pytest.mark.parametrize("origin", ["http://testserver.evil.example", "http://evil-testserver",
                                    "http://evil.example:80", "null", "http://testserver@evil.example"])
def test_a_lookalike_or_opaque_origin_is_refused(alice, origin):
    assert async_to_sync(close_code)(PATH, session_headers(alice, origin=origin)) == 4401
