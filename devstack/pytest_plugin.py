"""Starts real PostgreSQL, Redis and a Kafka-protocol broker for the test run.

Enabled from pytest.ini (`-p devstack.pytest_plugin`).  It runs before
pytest-django loads the settings, so the settings see the URLs it sets.  Any
of DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS already set is used as is.
The servers' data lives in a throwaway folder removed at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .servers import Stack

_stack: Stack | None = None
_root: Path | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _stack, _root
    if early_config.known_args_namespace.help or early_config.known_args_namespace.version:
        return
    _root = Path(tempfile.mkdtemp(prefix="todo-test-"))
    os.chmod(_root, 0o755)  # PostgreSQL runs as an unprivileged user when we are root
    _stack = Stack(_root / "services", durable=False)
    os.environ.update(_stack.start())
    # Keep the developer's `make run` state (.data/devstack.env, beat schedule) out of tests.
    os.environ["DEVSTACK_DATA_DIR"] = str(_root / "data")
    # No fixed internal port (9100) for web processes of tests: those that test it choose a free one.
    os.environ.setdefault("INTERNAL_PORT", "0")


def pytest_report_header(config):
    if _stack is None:
        return None
    started = [name for name, service in (("postgres", _stack.postgres), ("redis", _stack.redis),
                                          ("kafka", _stack.kafka)) if service is not None]
    given = sorted({"postgres", "redis", "kafka"} - set(started))
    line = f"devstack: started {', '.join(started) or 'nothing'} in {_root}"
    return line + (f"; using given {', '.join(given)}" if given else "")


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
