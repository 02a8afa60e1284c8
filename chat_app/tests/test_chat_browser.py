"""The chat page in a real browser: headless Debian Chromium driven by Playwright logs in, sends the
seed's three demo messages and sees their results — the next occurrence included, made by a real worker."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tasks_app.models import Task

from .test_demo_flow import DEMO

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
PASSWORD = "alice-Browser-Password-1"
# Assertions wait up to this long (Playwright's default is 5 s): the page answers in well under a
# second, but CI shares two cores with the worker, the web server and the databases.
expect.set_options(timeout=15_000)


@pytest.fixture
def alice_with_password(alice, settings):
    # The server process checks passwords with the project's hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    alice.set_password(PASSWORD)
    alice.save()
    return alice


def test_demo_flow_on_the_chat_page(asgi_server, chat_worker, alice_with_password, browser_home, tmp_path):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(f"{asgi_server.url}/")

            # Log in through the form.
            expect(page).to_have_url(re.compile(r"/accounts/login/"))
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_label("Your message")).to_be_visible()
            # chat.js is deferred: an Enter typed before it runs only adds a line (CI flaked on it).
            expect(page.locator("#chat-form")).to_have_attribute("data-ready", "true")

            replies = page.locator(".message.assistant")
            tasks = page.locator("#task-panel")

            def send(message: str, count: int):
                page.get_by_label("Your message").fill(message)
                page.keyboard.press("Enter")
                expect(replies).to_have_count(count)
                expect(page.locator("#chat-status")).to_contain_text(re.compile(r"Done|Answered"))
                # Sending again is possible (a message sent while the form is busy is not sent).
                expect(page.locator("#chat-form")).not_to_have_attribute("aria-busy", "true")

            # 1. Add: the reply, what was done, and the task beside the conversation.
            send(DEMO[0], 1)
            expect(replies.nth(0)).to_contain_text("Added “Weekly team standup”")
            expect(replies.nth(0).locator(".tool-call")).to_contain_text("add_task")
            standup_row = tasks.locator(".task", has_text="Weekly team standup")
            expect(standup_row).to_have_count(1)
            expect(standup_row).to_contain_text("P1")
            expect(standup_row).to_contain_text("#meetings")
            expect(standup_row).to_contain_text("#work")

            # 2. The list the message asked for.
            send(DEMO[1], 2)
            expect(replies.nth(1)).to_contain_text("1 P1 task tagged work, soonest due first")
            expect(replies.nth(1)).to_contain_text("Weekly team standup")
            expect(replies.nth(1).locator(".tool-call")).to_contain_text("list_tasks")

            # 3. Complete it: done now, and the worker's next occurrence appears in the list.
            send(DEMO[2], 3)
            expect(replies.nth(2)).to_contain_text("Marked “Weekly team standup” as done")
            expect(replies.nth(2).locator(".tool-call")).to_contain_text(["list_tasks", "complete_task"])
            next_due = standup_row.locator("time")
            expect(next_due).to_have_count(1, timeout=20_000)

            shown_due = datetime.fromisoformat(next_due.get_attribute("datetime"))
            conversation_id = page.locator("#chat-form").get_attribute("data-conversation-id")
            assert page.url.endswith(f"/?c={conversation_id}")
            page.screenshot(path=str(tmp_path / "chat-desktop.png"), full_page=True)

            # Usable on a phone: nothing wider than the screen, the message box and the tasks reachable.
            page.set_viewport_size({"width": 375, "height": 740})
            page.reload()
            expect(page.get_by_label("Your message")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            tasks.scroll_into_view_if_needed()
            expect(tasks.locator(".task", has_text="Weekly team standup")).to_be_visible()
            page.screenshot(path=str(tmp_path / "chat-phone.png"), full_page=True)
        finally:
            browser.close()

    # (The ORM is used outside Playwright's sync API, which runs an event loop in this thread.)
    standup = Task.objects.get(user=alice_with_password, title="Weekly team standup", completed=True)
    assert abs(shown_due - (standup.completed_at + timedelta(weeks=1))) < timedelta(minutes=1)


def test_the_page_works_by_keyboard_alone(asgi_server, alice_with_password, browser_home):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{asgi_server.url}/accounts/login/?next=/")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            expect(page.get_by_label("Your message")).to_be_visible()
            expect(page.locator("#chat-form")).to_have_attribute("data-ready", "true")
            # Tabbing from the top reaches the skip link, which lands in the message box.
            for _ in range(12):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.classList.contains('skip-link')"):
                    break
            expect(page.get_by_role("link", name="Skip to the message box")).to_be_focused()
            page.keyboard.press("Enter")
            expect(page.get_by_label("Your message")).to_be_focused()
            page.keyboard.type("what can you do?")
            page.keyboard.press("Enter")
            expect(page.locator(".message.assistant")).to_contain_text("I can add tasks")
            expect(page.locator("#chat-status")).to_have_text("Answered.")
            expect(page.get_by_label("Your message")).to_be_focused()
        finally:
            browser.close()
