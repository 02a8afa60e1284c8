"""Helpers for tests that talk to the real services."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from .servers import LOCALHOST, ServiceError, free_port, stop_process, wait_for_port

BASE_DIR = Path(__file__).resolve().parent.parent


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def read_topic(bootstrap_servers: str, topic: str, *, until=None, timeout: float = 30, idle: float = 1.0,
               with_headers: bool = False) -> list:
    """Every message of `topic` from the beginning, in partition order, as
    (partition, offset, key, value-as-JSON), plus {header: bytes} with `with_headers`.
    Stops when `until(messages)` holds (then after `idle` seconds of silence, to catch
    repeats) or after `timeout`."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": f"test-reader-{time.monotonic_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in metadata.partitions])
        messages: list = []
        deadline = time.monotonic() + timeout
        satisfied_at = time.monotonic() if until is None else None
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                if satisfied_at is not None and time.monotonic() - satisfied_at >= idle:
                    break
                continue
            entry = (message.partition(), message.offset(), message.key().decode(), json.loads(message.value()))
            messages.append((*entry, dict(message.headers() or [])) if with_headers else entry)
            if until is not None and satisfied_at is None and until(messages):
                satisfied_at = time.monotonic()
            elif satisfied_at is not None:
                satisfied_at = time.monotonic()
        return messages
    finally:
        consumer.close()


@contextmanager
def uvicorn_server(env: dict[str, str], folder: Path):
    """The project's ASGI application (Django, /mcp, /ws/tasks/) under uvicorn on a free
    127.0.0.1 port, with `env` (point DATABASE_URL at the test database).  Yields the
    process with `.url` and `.log_path`; stops it on exit."""
    port = free_port()
    log_path = folder / "uvicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "todo_project.asgi:application", "--host", LOCALHOST,
             "--port", str(port), "--log-level", "warning"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        try:
            wait_for_port(port, timeout=30, process=process, what="uvicorn")
        except ServiceError as exc:
            raise RuntimeError(f"{exc}:\n{log_path.read_text()}") from None
        process.url = f"http://{LOCALHOST}:{port}"
        process.log_path = log_path
        yield process
    finally:
        stop_process(process)


def internal_get(path: str) -> tuple[int, str]:
    """GET `path` from the web process's internal app (todo_project/internal.py: /healthz, /metrics)
    in this thread, so it sees the test's own transaction.  Returns (status, body)."""
    from wsgiref.util import setup_testing_defaults

    from todo_project.internal import application

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    body = b"".join(application(environ, start_response))
    return answer["status"], body.decode()
