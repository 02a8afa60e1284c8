"""The dashboard's Undo button in a real browser (headless Debian Chromium, Playwright): a task
completed with its checkbox is open again after "Undo that"; "Undo last change" with nothing left
says so."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tasks_app import services
from tasks_app.models import Task

from .test_dashboard_browser import CHROMIUM_ARGS, row, session_cookie, web_server  # noqa: F401 - the fixture

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TIMEOUT_MS = 15_000  # every wait bounded explicitly: CI shares two cores with the servers


@pytest.mark.django_db(transaction=True)
def test_undo_on_the_dashboard_reopens_a_task_completed_there(web_server, alice, browser_home):  # noqa: F811
    plants = services.task_create(user=alice, title="Water the plants")
    cookie = session_cookie(alice, web_server.url)  # the ORM before Playwright's event loop starts
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=TIMEOUT_MS)
        try:
            context = browser.new_context()
            context.add_cookies([cookie])
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.set_default_navigation_timeout(TIMEOUT_MS)
            page.goto(f"{web_server.url}/tasks/")
            expect(row(page, plants.pk)).to_have_count(1, timeout=TIMEOUT_MS)

            row(page, plants.pk).get_by_role("checkbox", name="Mark done: Water the plants").check()
            expect(row(page, plants.pk)).to_have_count(0, timeout=TIMEOUT_MS)  # the list shows open tasks
            page.get_by_role("button", name="Undo that").click()
            expect(page.locator("#undo-status")).to_have_text("Undone: “Water the plants” reopened.",
                                                              timeout=TIMEOUT_MS)
            expect(row(page, plants.pk)).to_have_count(1, timeout=TIMEOUT_MS)

            page.get_by_role("button", name="Undo last change").click()  # the creation, made before the page
            expect(row(page, plants.pk)).to_have_count(0, timeout=TIMEOUT_MS)
            page.get_by_role("button", name="Undo last change").click()
            expect(page.locator("#undo-status")).to_have_text(re.compile(r"^nothing to undo"), timeout=TIMEOUT_MS)
        finally:
            browser.close()
    assert not Task.objects.filter(user=alice).exists()
