import io

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


def test_the_demo_user_gets_its_reminders_by_email_into_the_development_mailbox(settings):
    from django.contrib.auth import get_user_model

    from tasks_app import selectors, services

    settings.DEMO_USER_ENABLED, settings.EMAIL_ENABLED = True, True
    call_command("ensure_demo_user", stdout=io.StringIO())
    demo = get_user_model().objects.get(username="demo")
    assert demo.email == "demo@localhost" and selectors.profile_get(user=demo).email_reminders

    services.profile_update(user=demo, email_reminders=False)
    call_command("ensure_demo_user", stdout=io.StringIO())
    assert not selectors.profile_get(user=get_user_model().objects.get(username="demo")).email_reminders, \
        "a developer's choice stays"
