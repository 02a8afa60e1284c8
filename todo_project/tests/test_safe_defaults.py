"""Safe defaults of the image (issue 12): DEBUG is off unless turned on, and production refuses to
start with the development secret key or without one — run through the image's entry point, as
`docker run IMAGE ...` would, with the image's own ENV."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from .deploy_support import BASE_DIR
from .test_deploy_settings import image_env

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

ENTRYPOINT = BASE_DIR / "scripts" / "docker-entrypoint.sh"
DEVELOPMENT_KEY = "django-insecure-development-only-key-do-not-use-in-production"
UNREACHABLE_DB = "postgresql://todo@127.0.0.1:1/todo"  # settings load; nothing connects


@pytest.fixture
def run_entrypoint(tmp_path):
    def run(*args: str, env: dict[str, str], use_image_env: bool = True, timeout: float = 60):
        base = {key: value for key, value in image_env().items() if key not in {"PATH", "HOME"}} \
            if use_image_env else {}
        base.update({"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(tmp_path),
                     "STATIC_ROOT": str(tmp_path / "static"), "DEVSTACK_DATA_DIR": str(tmp_path / "data"),
                     "LANG": "C.UTF-8", "INTERNAL_PORT": "0", **env})
        return subprocess.run([str(ENTRYPOINT), *args], cwd=BASE_DIR, env=base, capture_output=True, text=True,
                              timeout=timeout)
    return run


def test_development_key_is_the_one_settings_falls_back_to():
    """The key this file refuses is really the settings' development default (not a stale copy)."""
    from django.conf import settings

    assert settings.DEVELOPMENT_SECRET_KEY == DEVELOPMENT_KEY
    assert f'DEVELOPMENT_SECRET_KEY = "{DEVELOPMENT_KEY}"' in (BASE_DIR / "todo_project" / "settings.py").read_text()


def test_image_runs_with_debug_off_by_default():
    assert image_env()["DJANGO_DEBUG"] == "false"
    assert 'export DJANGO_DEBUG="${DJANGO_DEBUG:-false}"' in ENTRYPOINT.read_text()


@pytest.mark.parametrize("use_image_env", [True, False], ids=["image-env", "entrypoint-alone"])
def test_production_refuses_to_start_with_the_development_key(run_entrypoint, use_image_env):
    env = {"DJANGO_SECRET_KEY": DEVELOPMENT_KEY, "ALLOWED_HOSTS": "todo.example.com", "DATABASE_URL": UNREACHABLE_DB}
    refused = run_entrypoint("manage", "check", env=env, use_image_env=use_image_env)
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY is the development key" in refused.stderr
    # The same command with a real key passes: the refusal is about the key, nothing else.
    accepted = run_entrypoint("manage", "check", env={**env, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)},
                              use_image_env=use_image_env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_development_key_still_works_where_debug_is_explicitly_on(run_entrypoint):
    result = run_entrypoint("manage", "check", env={"DJANGO_DEBUG": "true", "DATABASE_URL": UNREACHABLE_DB})
    assert result.returncode == 0, result.stdout + result.stderr


def test_web_role_with_only_a_database_url_refuses_to_start(run_entrypoint):
    """`docker run IMAGE web` with only DATABASE_URL used to serve DEBUG pages signed with a public key."""
    result = run_entrypoint("web", env={"DATABASE_URL": UNREACHABLE_DB, "PORT": "0"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=false" in result.stderr


def test_web_role_refuses_the_development_key(run_entrypoint):
    result = run_entrypoint("web", env={"DATABASE_URL": UNREACHABLE_DB, "PORT": "0", "ALLOWED_HOSTS": "x.example",
                                        "DJANGO_SECRET_KEY": DEVELOPMENT_KEY})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the development key" in result.stderr
