"""Starts real PostgreSQL, Redis and a Kafka-protocol broker for the test run.

Enabled from pytest.ini (`-p devstack.pytest_plugin`).  It runs before
pytest-django loads the settings, so the settings see the URLs it sets.  Any
of DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS already set is used as is.
The servers' data lives in a throwaway folder removed at the end.

The servers start once the tests are collected, and only if a selected test needs them: tests
marked `pure` (pytest.ini) need none, so `pytest -m pure` (or a run of pure test files) starts
nothing.  The settings are read before collection, so their URLs are fixed first, on ports chosen
free now and bound when the servers start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .servers import Kafka, Postgres, Redis, Stack, free_port

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")

_stack: Stack | None = None
_root: Path | None = None
_given: dict[str, str] = {}     # the service URLs the environment already had
_planned: dict[str, str] = {}   # the URLs the settings were given for the servers we start
PURE = "pure"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _stack, _root, _given
    if early_config.known_args_namespace.help or early_config.known_args_namespace.version:
        return
    _root = Path(tempfile.mkdtemp(prefix="todo-test-"))
    os.chmod(_root, 0o755)  # PostgreSQL runs as an unprivileged user when we are root
    _given = {name: os.environ[name] for name in SERVICE_VARIABLES if os.environ.get(name)}
    ports = {name: free_port() for name in ("postgres", "redis", "kafka")}
    _stack = Stack(_root / "services", durable=False, ports=ports)
    _planned.update(_planned_urls(_stack))
    os.environ.update(_planned)
    # Keep the developer's `make run` state (.data/devstack.env, beat schedule) out of tests.
    os.environ["DEVSTACK_DATA_DIR"] = str(_root / "data")
    # No fixed internal port (9100) for web processes of tests: those that test it choose a free one.
    os.environ.setdefault("INTERNAL_PORT", "0")


def _planned_urls(stack: Stack) -> dict[str, str]:
    """The URLs Stack.start will report for the servers it starts on `stack.ports`."""
    urls = {"DATABASE_URL": Postgres(stack.root / "postgres", port=stack.ports["postgres"]).url,
            "REDIS_URL": Redis(stack.root / "redis", port=stack.ports["redis"]).url,
            "KAFKA_BOOTSTRAP_SERVERS": Kafka(stack.root / "kafka", port=stack.ports["kafka"]).bootstrap_servers}
    return {name: url for name, url in urls.items() if name not in _given}


def needs_services(item: pytest.Item) -> bool:
    return item.get_closest_marker(PURE) is None


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """After -m/-k/paths chose the tests: start the servers unless every chosen test is pure."""
    if _stack is None or session.config.option.collectonly or not any(map(needs_services, session.items)):
        return
    started = _stack.start(environ=_given)
    moved = {name for name, url in _planned.items() if started[name] != url}
    if moved:  # a port taken between choosing it and binding it (another run on this machine)
        raise pytest.UsageError(f"devstack: {', '.join(sorted(moved))} could not use the port chosen "
                                "before collection (taken since); run again")


def pytest_report_header(config):
    if _stack is None:
        return None
    given = sorted(_given)
    line = f"devstack: servers in {_root}, started after collection unless only `{PURE}` tests are chosen"
    return line + (f"; using given {', '.join(given)}" if given else "")


def pytest_terminal_summary(terminalreporter):
    if _stack is None:
        return
    started = [name for name, service in (("postgres", _stack.postgres), ("redis", _stack.redis),
                                          ("kafka", _stack.kafka)) if service is not None]
    terminalreporter.write_line(f"devstack: started {', '.join(started) or 'nothing'}")


def pytest_unconfigure(config):
    global _stack
    if _stack is not None:
        _stack.stop()
        _stack = None
    if _root is not None:
        shutil.rmtree(_root, ignore_errors=True)


def stack() -> Stack | None:
    """The services this run started (tests that stop and restart a broker use their own)."""
    return _stack
