"""Fixtures shared by every app's tests: named users, API clients, a real Celery worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

BASE_DIR = Path(__file__).resolve().parent
# Every Celery queue (todo_project/settings.py CELERY_TASK_QUEUES), as `make run` consumes them.
WORKER_QUEUES = "events,default,live,maintenance,webhooks"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; the suite creates hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_rate_limits(request):
    """Rate-limit counters live in the shared Redis: every test starts with none (one test's
    failed logins from 127.0.0.1 must not lock the next one out)."""
    from redis.exceptions import RedisError

    if request.node.get_closest_marker("pure"):
        return  # no Redis was started for it (devstack.pytest_plugin)

    from tasks_app.throttling import KEY_PREFIX, redis_client

    try:
        keys = list(redis_client().scan_iter(match=KEY_PREFIX + "*", count=1000))
        if keys:
            redis_client().delete(*keys)
    except RedisError:
        pass  # a test that stopped Redis on purpose; nothing to clear


@pytest.fixture
def midday():
    """The clock at noon today in the server's zone (then running on): a test that reads "tomorrow"
    or "in 3 days" and checks it against today cannot see the date change under it at midnight.
    The clock itself moves (time-machine), so the services read it as they always do."""
    import time_machine
    from django.utils import timezone

    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=True):
        yield noon


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-Password-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-Password-1")


def _api_client(user) -> Client:
    from tasks_app.accounts import api_token_issue

    return Client(headers={"Authorization": f"Bearer {api_token_issue(user=user)}"})


@pytest.fixture
def alice_api(alice) -> Client:
    return _api_client(alice)


@pytest.fixture
def bob_api(bob) -> Client:
    return _api_client(bob)


@pytest.fixture
def service_env() -> dict[str, str]:
    """Environment for a child process (worker, manage.py) that must see the test database."""
    settings_dict = connection.settings_dict
    database_url = (f"postgresql://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/"
                    f"{settings_dict['NAME']}")
    return {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}


class CeleryProcesses:
    """Real `celery worker` / `celery beat` processes on the test Redis and database."""

    def __init__(self, base_env: dict[str, str], tmp_path: Path):
        self.base_env, self.tmp_path, self.processes = base_env, tmp_path, []

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None) -> subprocess.Popen:
        log_path = self.tmp_path / f"{name}-{len(self.processes)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "todo_project", *argv], cwd=BASE_DIR,
                                       env={**self.base_env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        process.log_path = log_path
        process.output = lambda: log_path.read_text(errors="replace")
        self.processes.append(process)
        return process

    def worker(self, env: dict[str, str] | None = None, concurrency: int = 2) -> subprocess.Popen:
        hostname = f"test-{os.getpid()}-{len(self.processes)}@%h"
        # As every launcher does: the pool processes' metrics in prometheus_client's multiprocess
        # folder (workers/metrics.py), one per worker unless the test shares one on purpose.
        env = {"PROMETHEUS_MULTIPROC_DIR": str(self.tmp_path / f"prometheus-{len(self.processes)}"), **(env or {})}
        process = self._spawn("worker", ["worker", "--loglevel=INFO", "--pool=prefork", f"--concurrency={concurrency}",
                                         f"--queues={WORKER_QUEUES}", f"--hostname={hostname}", "--without-mingle", "--without-gossip"], env)
        self.wait_ready(process)
        return process

    def beat(self, env: dict[str, str] | None = None) -> subprocess.Popen:
        schedule = self.tmp_path / f"beat-{len(self.processes)}"
        return self._spawn("beat", ["beat", "--loglevel=INFO", f"--schedule={schedule}"], env)

    @staticmethod
    def wait_ready(process: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"celery exited early:\n{process.output()}")
            if " ready." in process.output():
                return
            time.sleep(0.1)
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{process.output()}")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool children, as an OOM kill or a node loss would."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=20)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    self.kill(process)


def purge_celery_queues() -> None:
    """Drop jobs queued by earlier tests (every write queues some, and most tests run no
    worker): a worker started now must not spend its first seconds on another test's backlog."""
    from todo_project.celery import app

    app.control.purge()


def forget_purged_kicks() -> None:
    """A purged kick leaves its "kick queued" marker behind (workers.dispatch): until it expires, a
    test's first commit would skip its kick, and with no beat running nothing would send its events."""
    from workers.metrics import redis_client

    # And the feeds' items (workers.dispatch.feed): another test's events, not this one's.
    stale = list(redis_client().scan_iter(match="todo:*:kick-pending")) + list(redis_client().scan_iter(
        match="todo:*:items"))
    if stale:
        redis_client().delete(*stale)


@pytest.fixture
def celery_processes(transactional_db, service_env, tmp_path):
    purge_celery_queues()
    forget_purged_kicks()
    processes = CeleryProcesses({**service_env, "WORKER_METRICS_PORT": "0"}, tmp_path)
    yield processes
    processes.stop_all()


@pytest.fixture
def celery_worker_process(celery_processes):
    """One running worker (the common case)."""
    return celery_processes.worker()


@pytest.fixture
def browser_home(tmp_path, monkeypatch) -> Path:
    """Chromium and the Playwright driver write only under a temporary home."""
    home = tmp_path / "browser-home"
    for key, folder in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                        ("XDG_DATA_HOME", ".local/share"), ("XDG_RUNTIME_DIR", "runtime")):
        path = home / folder
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(key, str(path))
    os.chmod(home / "runtime", 0o700)
    return home
