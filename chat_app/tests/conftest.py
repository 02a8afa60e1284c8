"""Helpers for the chat tests: MCP client sessions, chat turns, child processes of the app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import mcp
import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from chat_app.mcp_server import build_server
from chat_app.services import chat_send
from chat_app.toolbox import result_as_dict
from conftest import forget_purged_kicks, purge_celery_queues
from devstack.servers import stop_process
from devstack.testing import uvicorn_server

BASE_DIR = Path(__file__).resolve().parents[2]


# The phrase corpus's pass rate (test_phrase_corpus.py), shown at the end of any run that reads it.
CORPUS_SUMMARY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    summary = config.stash.get(CORPUS_SUMMARY, None)
    if summary:
        terminalreporter.write_sep("-", "phrase corpus")
        terminalreporter.write_line(summary)


@pytest.fixture(autouse=True)
def offline_chat(settings):
    """No test reaches a real language model, whatever the developer's environment holds."""
    settings.OPENAI_API_KEY = None
    settings.OPENAI_BASE_URL = None


def call_tool(user, name: str, arguments: dict | None = None):
    """Call one tool through a real in-memory MCP client session bound to `user`."""

    async def run():
        async with mcp.Client(build_server(user=user)) as client:
            return await client.call_tool(name, arguments or {})

    return async_to_sync(run)()


def tool_json(user, name: str, arguments: dict | None = None) -> dict:
    result = call_tool(user, name, arguments)
    assert not result.is_error, result.content
    return result_as_dict(name, result)


def say(user, message: str, conversation_id: int | None = None):
    return chat_send(user=user, message=message, conversation_id=conversation_id)


class Conversation:
    """Talk to the assistant in one conversation, as the chat page does."""

    def __init__(self, user):
        self.user = user
        self.id = None

    def __call__(self, message: str):
        turn = chat_send(user=self.user, message=message, conversation_id=self.id)
        self.id = turn.conversation_id
        return turn


@pytest.fixture
def alice_chat(alice) -> Conversation:
    return Conversation(alice)


def _child_env(base: dict[str, str], home: Path) -> dict[str, str]:
    """The environment of a child process of the app: the test database, no real language model."""
    env = {key: value for key, value in base.items() if not key.startswith("OPENAI_")}
    for key, folder in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                        ("XDG_DATA_HOME", "data")):
        env[key] = str(home / folder)
        os.makedirs(env[key], exist_ok=True)
    return env


@pytest.fixture
def child_env(service_env, tmp_path) -> dict[str, str]:
    return _child_env(service_env, tmp_path)


def _database_url() -> str:
    """The test database (as the root conftest's service_env builds it), for session-wide child processes."""
    settings_dict = connection.settings_dict
    return (f"postgresql://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/"
            f"{settings_dict['NAME']}")


@pytest.fixture(scope="package")
def asgi_server_process(django_db_setup, tmp_path_factory):
    """The project's ASGI application (Django + /mcp) under uvicorn on a free local port, on the
    test database.  Started once for the chat tests and stopped after them; tests use it through
    `asgi_server`, which commits their data."""
    folder = tmp_path_factory.mktemp("asgi")
    env = _child_env({**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}, folder)
    with uvicorn_server(env, folder) as process:
        yield process


@pytest.fixture
def asgi_server(transactional_db, asgi_server_process):
    return asgi_server_process


@pytest.fixture(scope="package")
def chat_worker_process(django_db_setup, tmp_path_factory):
    """A real `celery worker` on the test Redis and database, started once for the chat tests that need
    one (the root conftest's `celery_worker_process` is per test; two starts cost the suite seconds).
    Package scope: it is stopped when the chat tests end, before other apps' tests start their own."""
    from todo_project.celery import app

    purge_celery_queues()
    forget_purged_kicks()
    folder = tmp_path_factory.mktemp("worker")
    env = _child_env({**os.environ, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}, folder)
    log_path = folder / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "todo_project", "worker", "--loglevel=INFO", "--pool=prefork",
             "--concurrency=2", f"--hostname=chat-{os.getpid()}@%h", "--without-mingle", "--without-gossip"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5, destination=[f"chat-{os.getpid()}@{socket.gethostname()}"]):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()}")
    process.log_path = log_path
    yield process
    stop_process(process, timeout=20)


@pytest.fixture
def chat_worker(transactional_db, chat_worker_process):
    return chat_worker_process
