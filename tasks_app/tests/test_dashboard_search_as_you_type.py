"""The dashboard's search box in a real browser: typing the start of a word already finds the task (the
last word of q is a prefix), and "Recently changed" orders by the last change."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tasks_app.models import Task
from tasks_app.services import task_create, task_update

from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, session_cookie, web_server  # noqa: F401 (fixture)

# Set here, not by whichever browser test file happened to be imported first.
expect.set_options(timeout=15_000)


def test_typing_the_start_of_a_word_finds_the_task(web_server, transactional_db, alice, browser_home):  # noqa: F811
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    for title in ("Weekly standup", "Send invoice", "Buy milk"):
        task_create(user=alice, title=title)
    task_update(task=Task.objects.get(title="Weekly standup"), priority="P1")
    cookie = session_cookie(alice, web_server.url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([cookie])
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{web_server.url}/tasks/")
            rows = page.locator(".task-row")
            expect(rows).to_have_count(3)

            page.locator("#f-q").press_sequentially("sta", delay=50)
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Weekly standup")
            page.locator("#f-q").fill("")
            page.locator("#f-q").press_sequentially("team inv", delay=50)
            expect(rows).to_have_count(0)
            page.locator("#f-q").fill("inv")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Send invoice")

            page.locator("#f-q").fill("")
            page.locator("#f-sort").select_option("-updated_at")
            expect(rows).to_have_count(3)
            expect(rows.nth(0)).to_contain_text("Weekly standup")
            expect(rows.nth(1)).to_contain_text("Buy milk")
        finally:
            browser.close()
