"""The limits' settings: rates written COUNT/DURATION or off, read strictly; sign-up off in production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

BASE_DIR = Path(__file__).resolve().parents[2]


def read(expression: str, env_overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "THROTTLE_", "ALLOW_SIGNUP"))}
    env.update({"DJANGO_SETTINGS_MODULE": "todo_project.settings", "DEVSTACK_DATA_DIR": str(tmp_path)})
    env.update(env_overrides)
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("value, parsed", [("5/15m", "(5, 900)"), ("30/1m", "(30, 60)"), ("7/45", "(7, 45)"),
                                           ("1000/1d", "(1000, 86400)"), ("2/3h", "(2, 10800)"), ("off", "None")])
def test_rates_are_count_over_duration_or_off(tmp_path, value, parsed):
    result = read("settings.THROTTLE_CHAT_PER_USER", {"THROTTLE_CHAT_PER_USER": value}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == parsed


@pytest.mark.parametrize("value", ["5", "five/1m", "0/1m", "5/0s", "5/1w", "-1/1m", "5/m"])
def test_a_malformed_rate_is_refused_naming_the_variable(tmp_path, value):
    result = read("settings.THROTTLE_LOGIN_FAILURES_PER_IP", {"THROTTLE_LOGIN_FAILURES_PER_IP": value}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "THROTTLE_LOGIN_FAILURES_PER_IP" in result.stderr


def test_sign_up_is_off_in_production_unless_turned_on(tmp_path):
    production = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "todo.example.com"}
    assert read("settings.ALLOW_SIGNUP", production, tmp_path).stdout.strip() == "False"
    assert read("settings.ALLOW_SIGNUP", {**production, "ALLOW_SIGNUP": "true"}, tmp_path).stdout.strip() == "True"
    assert read("settings.ALLOW_SIGNUP", {}, tmp_path).stdout.strip() == "True"  # development
