"""Undo and bulk previews on the chat page in a real browser (headless Debian Chromium, Playwright):
add a task, complete it, press Undo → it is open again; "complete everything tagged errands" shows the
tasks first and completes them only after the user's "yes"."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tasks_app import services
from tasks_app.models import Task

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
PASSWORD = "alice-Undo-Password-1"
# Every wait is bounded explicitly (Playwright's default is 5 s; CI shares two cores with the servers).
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def alice_with_password(alice, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    alice.set_password(PASSWORD)
    alice.save()
    return alice


def test_add_complete_undo_and_a_bulk_preview_on_the_chat_page(asgi_server, alice_with_password, browser_home):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    errands = [services.task_create(user=alice_with_password, title=f"Errand {n}", tags=["errands"]).pk
               for n in range(1, 5)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=TIMEOUT_MS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.set_default_navigation_timeout(TIMEOUT_MS)
            page.goto(f"{asgi_server.url}/accounts/login/?next=/")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_label("Your message")).to_be_visible()
            # chat.js is deferred: an Enter typed before it runs only adds a line.
            expect(page.locator("#chat-form")).to_have_attribute("data-ready", "true")

            replies = page.locator(".message.assistant")
            tasks = page.locator("#task-panel")
            status = page.locator("#chat-status")

            def send(message: str, count: int):
                page.get_by_label("Your message").fill(message)
                page.keyboard.press("Enter")
                expect(replies).to_have_count(count)
                expect(status).to_contain_text(re.compile(r"Done|Answered"))
                # Sending again is possible (a message sent while the form is busy is not sent).
                expect(page.locator("#chat-form")).not_to_have_attribute("aria-busy", "true")

            # Add, complete, undo: the task is open again (the panel lists open tasks).
            send("add 'Water the plants'", 1)
            plants = tasks.locator(".task", has_text="Water the plants")
            expect(plants).to_have_count(1)
            send("mark it as done", 2)
            expect(replies.nth(1)).to_contain_text("Marked “Water the plants” as done")
            expect(plants).to_have_count(0)
            undo = page.get_by_role("button", name="Undo that")
            expect(undo).to_be_visible()
            undo.click()
            expect(status).to_contain_text("Undone: “Water the plants” reopened.")
            expect(plants).to_have_count(1)

            # A bulk request: the preview lists the four errands and changes nothing...
            errand_rows = tasks.locator(".task", has_text="Errand")
            expect(errand_rows).to_have_count(4)
            send("complete everything tagged errands", 3)
            expect(replies.nth(2)).to_contain_text("This would complete 4 tasks:")
            for n in range(1, 5):
                expect(replies.nth(2)).to_contain_text(f"“Errand {n}”")
            expect(errand_rows).to_have_count(4)
            # ... until the user says yes.
            send("yes", 4)
            expect(replies.nth(3)).to_contain_text("Completed 4 tasks")
            expect(errand_rows).to_have_count(0)
            expect(plants).to_have_count(1)
        finally:
            browser.close()

    # (The ORM is used outside Playwright's sync API, which runs an event loop in this thread.)
    assert set(Task.objects.filter(user=alice_with_password, completed=True).values_list("pk", flat=True)) == set(
        errands)
    assert not Task.objects.get(user=alice_with_password, title="Water the plants").completed
