"""`manage.py mcp_stdio --user U` refuses to serve a user who does not exist or is inactive: it
exits with the reason on stderr and never starts the protocol (nothing on stdout for a client to
talk to).  Another user's task ids over stdio: chat_app/tests/test_isolation_matrix.py."""

import subprocess
import sys

import pytest

from .conftest import BASE_DIR


def mcp_stdio(env, username: str) -> subprocess.CompletedProcess:
    # stdin closed at once: were the server to start, it would read EOF and exit 0 (the check below).
    return subprocess.run([sys.executable, "manage.py", "mcp_stdio", "--user", username], cwd=BASE_DIR, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_an_unknown_or_inactive_user_is_refused(child_env, django_user_model):
    django_user_model.objects.create_user("carol", password="carol-Password-1", is_active=False)
    for username in ("nobody", "carol"):
        result = mcp_stdio(child_env, username)
        assert result.returncode == 1, (username, result.stderr)
        assert f"CommandError: no active user named {username!r}" in result.stderr, result.stderr
        assert result.stdout == ""


@pytest.mark.django_db(transaction=True)
def test_an_active_user_is_served(child_env, alice):
    # The contrast that shows the refusal is about the user: the same command for alice starts the
    # server, which reads EOF on its closed stdin and ends normally.
    result = mcp_stdio(child_env, "alice")
    assert result.returncode == 0, result.stderr
    assert "no active user" not in result.stderr
