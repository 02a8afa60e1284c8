"""The dashboard in a real browser: the "What's next" panel ranks with reasons, a saved list is one
choice in a dropdown, and a repeating task shows its rule in words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from tasks_app.services import saved_filter_create, task_create

from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, session_cookie, web_server  # noqa: F401 (fixture)


def test_plan_panel_saved_list_and_rule_in_words(web_server, transactional_db, alice, bob, browser_home):  # noqa: F811
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    now = timezone.now()
    task_create(user=alice, title="File taxes", priority="P1", due_at=now - timedelta(days=2, hours=1), tags=["home"])
    task_create(user=alice, title="Team lunch", recurrence="FREQ=MONTHLY;BYDAY=3FR", tags=["work"],
                due_at=now + timedelta(days=40))
    task_create(user=alice, title="Someday", priority="P4", tags=["work"])
    task_create(user=bob, title="Bob's overdue", priority="P1", due_at=now - timedelta(days=3))
    saved = saved_filter_create(user=alice, name="Work stuff", params={"tag": ["work"], "recurring": True})
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
            plan = page.locator("#plan-list li")
            expect(plan).to_have_count(1)
            expect(plan.first).to_contain_text("File taxes")
            expect(plan.first).to_contain_text("overdue by 2 days · P1")
            expect(page.locator("#plan")).not_to_contain_text("Bob")
            expect(page.locator(".task-row", has_text="Team lunch")).to_contain_text("every 3rd Friday of the month")

            page.locator("#f-saved").select_option(str(saved.pk))
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Team lunch")
            assert f"saved={saved.pk}" in page.url  # the choice survives a reload
            page.reload()
            expect(page.locator("#f-saved")).to_have_value(str(saved.pk))
            expect(rows).to_have_count(1)
        finally:
            browser.close()
