"""Fixtures shared by every app's tests: named users, API clients, a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

BASE_DIR = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; the suite creates hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-Password-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-Password-1")


def _api_client(user) -> Client:
    from tasks_app.services import api_token_issue

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


@pytest.fixture
def celery_worker_process(transactional_db, service_env, tmp_path):
    """A real `celery worker` process on the test Redis and the test database."""
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "todo_project", "worker", "--loglevel=INFO",
             "--pool=prefork", "--concurrency=2", f"--hostname=test-{os.getpid()}@%h", "--without-mingle",
             "--without-gossip"],
            cwd=BASE_DIR, env=service_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    from todo_project.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log_path.read_text()}")
        if app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        raise RuntimeError(f"celery worker did not answer a ping:\n{log_path.read_text()}")
    process.log_path = log_path
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
