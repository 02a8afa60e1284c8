"""The task dashboard at /tasks/ (server side): login, the page's labelled controls, the nav links."""

import re

import pytest
from django.test import Client

from tasks_app.selectors import SORTS
from tasks_app.views import DASHBOARD_SORTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_dashboard_needs_a_login():
    response = Client().get("/tasks/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/tasks/")


def test_every_control_has_a_label(browser):
    html = browser.get("/tasks/").content.decode()
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and ids <= labelled, f"unlabelled: {ids - labelled}"
    for text in ("New task", "Search", "Tag", "Show", "Due from", "Due until", "Sort"):
        assert f">{text}</label>" in html
    assert "<legend>Priority</legend>" in html
    assert 'aria-live="assertive"' in html and 'role="status"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "tasks_app/dashboard.js" in html and "tasks_app/dashboard.css" in html


def test_the_page_carries_the_users_time_zone_and_the_api_limits(browser, settings):
    html = browser.get("/tasks/").content.decode()
    assert f'data-time-zone="{settings.TIME_ZONE}"' in html
    assert 'data-page-size="50"' in html and 'data-max-page-size="200"' in html


def test_every_sort_offered_is_one_the_api_accepts():
    assert {value for value, _label in DASHBOARD_SORTS if value} <= set(SORTS)


def test_the_header_links_chat_and_tasks_and_marks_the_current_page(browser):
    dashboard = browser.get("/tasks/").content.decode()
    assert '<a href="/tasks/" aria-current="page">Tasks</a>' in dashboard
    assert '<a href="/">Chat</a>' in dashboard
    chat = browser.get("/").content.decode()
    assert '<a href="/" aria-current="page">Chat</a>' in chat
    assert '<a href="/tasks/">Tasks</a>' in chat


def test_logged_out_pages_show_no_task_links():
    html = Client().get("/accounts/login/").content.decode()
    assert 'href="/tasks/"' not in html
