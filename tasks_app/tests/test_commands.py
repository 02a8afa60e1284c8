import pytest
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_issue_token_prints_a_working_token(alice, capsys):
    call_command("issue_token", "alice")
    token = capsys.readouterr().out.strip()
    assert Client(headers={"Authorization": f"Bearer {token}"}).get("/api/tasks").status_code == 200


def test_issue_token_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("issue_token", "nobody")


def test_demo_user_exists_only_in_development(settings, capsys):
    settings.DEMO_USER_ENABLED = True
    call_command("ensure_demo_user")
    token = capsys.readouterr().out.strip()
    assert Client(headers={"Authorization": f"Bearer {token}"}).get("/api/tasks").status_code == 200
    assert Client().login(username="demo", password="demo")

    settings.DEMO_USER_ENABLED = False
    with pytest.raises(CommandError, match="only in development"):
        call_command("ensure_demo_user")
