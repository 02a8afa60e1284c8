"""Settings come from the environment and fail loudly on unsafe or malformed values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

BASE_DIR = Path(__file__).resolve().parents[2]


def load_settings(env_overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "todo_project.settings", "DEVSTACK_DATA_DIR": str(tmp_path)})
    env.update(env_overrides)
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.ALLOWED_HOSTS, settings.DATABASES['default']['NAME'], settings.REDIS_URL)")
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = load_settings({"DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "todo.example.com"}, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    result = load_settings({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": ""}, tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_production_starts_with_secret_from_a_file_and_hosts(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 50 + "\n")
    result = load_settings({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY_FILE": str(secret),
                            "ALLOWED_HOSTS": "todo.example.com, api.example.com"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "False ['todo.example.com', 'api.example.com']" in result.stdout


@pytest.mark.parametrize("variable, value", [("DJANGO_DEBUG", "maybe"), ("KAFKA_TOPIC_PARTITIONS", "three"),
                                             ("DATABASE_URL", "mysql://root@localhost/db")])
def test_malformed_values_are_refused_with_the_variable_named(tmp_path, variable, value):
    result = load_settings({variable: value}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_urls_written_by_make_run_are_read_when_not_set(tmp_path):
    (tmp_path / "devstack.env").write_text(
        "# comment\nDATABASE_URL=postgresql://postgres@127.0.0.1:1/fromfile\nREDIS_URL=redis://127.0.0.1:2/0\n"
    )
    env = {"DATABASE_URL": "", "REDIS_URL": ""}
    result = load_settings(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["fromfile", "redis://127.0.0.1:2/0"]


def test_variables_already_set_win_over_the_devstack_file(tmp_path):
    (tmp_path / "devstack.env").write_text("DATABASE_URL=postgresql://postgres@127.0.0.1:1/fromfile\n")
    result = load_settings({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/fromenv"}, tmp_path)
    assert result.stdout.split()[-2] == "fromenv"


def test_without_any_database_url_the_error_says_how_to_start(tmp_path):
    result = load_settings({"DATABASE_URL": ""}, tmp_path)
    assert result.returncode != 0
    assert "make run" in result.stderr
