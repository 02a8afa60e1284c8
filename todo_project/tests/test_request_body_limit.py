"""A request body over REQUEST_BODY_MAX_BYTES is refused with 413 before it is read, by the ASGI
application that uvicorn serves (REST API and /mcp alike): 50 MB costs the server nothing."""

import json
import socket
import time

import pytest
from django.conf import settings

from devstack.testing import uvicorn_server

FIFTY_MB = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    from django.db import connection

    params = connection.settings_dict
    env = {**__import__("os").environ, "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": f"postgresql://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"}
    with uvicorn_server(env, tmp_path_factory.mktemp("uvicorn")) as process:
        yield process


def exchange(server, head: bytes, chunks, *, timeout=5.0) -> tuple[int, bytes, float]:
    """Send `head` and then `chunks` (stopping when the server answers); (status, body, seconds)."""
    host, port = server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        # Until the whole answer is in: its head, then as many body bytes as it declares (the body
        # can arrive in a later segment than the head).
        while not _complete(answer) and time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer.partition(b"\r\n\r\n")[2], time.monotonic() - started


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return True


@pytest.mark.parametrize("path", ["/api/tasks", "/api/chat", "/mcp"])
def test_a_declared_50_mb_body_is_refused_with_413_without_being_read(server, path):
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {FIFTY_MB}\r\n\r\n").encode()
    status, body, seconds = exchange(server, head, [b"x" * 65536] * 16)
    assert status == 413, body
    assert json.loads(body)["detail"] == f"request body larger than {settings.REQUEST_BODY_MAX_BYTES} bytes"
    assert json.loads(body)["type"] == "/problems/body-too-large"
    assert seconds < 2


def test_a_chunked_body_is_refused_with_413_once_it_passes_the_limit(server):
    payload = json.dumps({"title": "x"}).encode()
    small = (f"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    assert exchange(server, small, [])[0] in (401, 403)  # a body within the limit reaches the API (no login)

    head = (b"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    status, body, seconds = exchange(server, head, [chunk] * (FIFTY_MB // 0x10000))
    assert status == 413, body
    assert seconds < 5


@pytest.mark.parametrize("method, path, status", [("GET", "/api/no-such-thing", 404), ("PUT", "/api/tasks", 405),
                                                  ("GET", "/api/tasks", 401)])
def test_errors_under_uvicorn_are_problem_details_too(server, method, path, status):
    # The ASGI path runs the middleware and the handlers asynchronously: the same shape must come out.
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(urllib.request.Request(server.url + path, method=method), timeout=10)
    assert answer.value.code == status
    assert answer.value.headers["Content-Type"] == "application/problem+json"
    assert json.loads(answer.value.read())["status"] == status
