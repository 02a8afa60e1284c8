"""Quick add on the dashboard in a real browser (headless Debian Chromium through Playwright) against
the app under uvicorn: typing a line shows, before anything is created, what will be created with the
recognised parts marked; Add creates it, and it appears in the list with its priority, tags and due date."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from tasks_app.models import Task
from tasks_app.tests.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, row, session_cookie, web_server  # noqa: F401

# Explicit Playwright timeouts (ms): a preview or a created row shows well within these on a busy machine.
STEP = 15_000
LINE = "Pay rent tomorrow 9am every month #home p2 remind me 1 day before"
# Set here, not by whichever browser test file happened to be imported first.
expect.set_options(timeout=STEP)


def tasks_listed(page, url: str) -> list[dict]:
    """Alice's tasks as the API lists them, asked with the page's own session."""
    response = page.request.get(f"{url}/api/tasks?limit=10", timeout=STEP)
    assert response.status == 200, response.text()
    return response.json()["items"]


@pytest.fixture
def committed_alice(transactional_db, alice):
    """Alice, committed, so the app under uvicorn (its own connections) sees her."""
    return alice


def test_typing_a_line_previews_it_and_add_creates_the_task(web_server, committed_alice, browser_home):  # noqa: F811
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    url = web_server.url
    cookie = session_cookie(committed_alice, url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=STEP)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(STEP)
            context.add_cookies([cookie])
            page = context.new_page()
            page.set_default_timeout(STEP)
            page.set_default_navigation_timeout(STEP)
            page.goto(f"{url}/tasks/")
            box = page.get_by_label("New task")
            box.click()
            box.press_sequentially(LINE, delay=5)

            # The preview: the parts listed, the line with each part marked.  Nothing is created yet.
            parts = page.locator("#quick-parts")
            expect(parts.locator('[data-kind="title"] .value')).to_have_text("Pay rent", timeout=STEP)
            expect(parts.locator('[data-kind="priority"] .value')).to_have_text("P2", timeout=STEP)
            expect(parts.locator('[data-kind="tag"] .value')).to_have_text("#home", timeout=STEP)
            expect(parts.locator('[data-kind="recurrence"] .value')).to_have_text("monthly", timeout=STEP)
            expect(parts.locator('[data-kind="reminder"] .value')).to_have_text("1 day before", timeout=STEP)
            expect(parts.locator('[data-kind="due"]')).to_have_count(1, timeout=STEP)
            marked = page.locator("#quick-text")
            expect(marked.locator("mark.qa-tag")).to_have_text("#home", timeout=STEP)
            expect(marked.locator("mark.qa-priority")).to_have_text("p2", timeout=STEP)
            expect(marked.locator("mark.qa-due")).to_have_text("tomorrow 9am", timeout=STEP)
            expect(marked.locator("mark.qa-recurrence")).to_have_text("every month", timeout=STEP)
            expect(marked).to_have_text(LINE, timeout=STEP)
            assert tasks_listed(page, url) == [], "the preview created a task"

            # A line with no title left says so, still creating nothing.
            box.fill("#home p1 tomorrow")
            expect(page.locator("#quick-problem")).to_contain_text("title", timeout=STEP)
            assert tasks_listed(page, url) == []

            box.fill(LINE)
            expect(parts.locator('[data-kind="title"] .value')).to_have_text("Pay rent", timeout=STEP)
            page.get_by_role("button", name="Add", exact=True).click()
            expect(page.locator("#add-status")).to_have_text("Added “Pay rent”.", timeout=STEP)
            [created] = tasks_listed(page, url)
            shown = row(page, created["id"])
            expect(shown).to_be_visible(timeout=STEP)
            expect(shown.locator(".priority")).to_have_text("P2", timeout=STEP)
            expect(shown).to_contain_text("#home", timeout=STEP)
            expect(shown.locator("time")).to_contain_text("due", timeout=STEP)
            expect(shown).to_contain_text("repeats monthly", timeout=STEP)
            expect(box).to_have_value("", timeout=STEP)
            expect(page.locator("#quick-preview")).to_be_hidden(timeout=STEP)
        finally:
            browser.close()

    # The ORM is not for Playwright's event loop: the stored task is read once the browser is closed.
    task = Task.objects.get(user=committed_alice)
    assert task.pk == created["id"]
    assert (task.title, task.priority, task.recurrence, task.reminder_minutes_before) == (
        "Pay rent", "P2", "FREQ=MONTHLY", 1440)
    assert [tag.name for tag in task.tags.all()] == ["home"]
    due = timezone.localtime(task.due_at)
    assert (due.date() - timezone.localtime().date()).days == 1 and (due.hour, due.minute) == (9, 0)
