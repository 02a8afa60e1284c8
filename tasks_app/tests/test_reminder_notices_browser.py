"""Reminder notices on every open page, in a real browser (headless Debian Chromium through Playwright)
against the app under uvicorn, a real Celery worker and the Redis channel layer: a reminder armed a few
seconds ahead is fired by the worker's precise (`eta`) job and shows at once on Alice's chat page and on
her dashboard; Snooze on the chat page re-arms it; a notice already unread when a page opens shows too;
the browser's own notification appears only once the user allowed it; Bob's pages never show hers.
(The shared script: tasks_app/static/tasks_app/live.js.)"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from django.utils import timezone as dj_timezone
from playwright.sync_api import expect, sync_playwright

from tasks_app import services
from tasks_app.accounts import api_token_issue
from tasks_app.models import Notification, Task

from .test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, session_cookie, web_server  # noqa: F401 (a fixture)

PAGE_TIMEOUT_MS = 15_000  # any step of a page (navigation, a click): CI shares two cores with everything
FIRE_TIMEOUT_MS = 30_000  # a reminder armed seconds ahead, fired by the worker's eta job, pushed to the pages
REMINDER_AHEAD = timedelta(seconds=6)  # far enough for both pages to be open and live before it fires

# Records what the page asks of the browser's Notification API (the real one still runs underneath).
RECORD_DESKTOP_NOTIFICATIONS = """
(() => {
  window.__desktopShown = [];
  window.__permissionAsked = 0;
  if (!("Notification" in window)) return;
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) {
      window.__desktopShown.push({ title, body: options && options.body, tag: options && options.tag });
      super(title, options);
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => { window.__permissionAsked += 1; return Real.requestPermission(...args); };
  window.Notification = Recorded;
})();
"""


def create_task(api, **fields) -> dict:
    response = api.post("/api/tasks", data=fields)
    assert response.status == 201, response.text()
    return response.json()


def task_reminding_in(api, ahead: timedelta, title: str) -> dict:
    """A task whose one-minute reminder falls `ahead` from now (armed by the API's commit)."""
    due = datetime.now(timezone.utc) + timedelta(minutes=1) + ahead
    return create_task(api, title=title, due_at=due.isoformat(), reminder_minutes_before=1)


def unread_notice_for(user, title: str) -> Notification:
    """A reminder of `user`'s that has already fired (its notice unread) before any page opens."""
    task = services.task_create(user=user, title=title, due_at=dj_timezone.now() + timedelta(hours=1),
                                reminder_minutes_before=60)
    services.reminders_claim_due(task_ids=[task.pk])
    # The claim above, or the worker's precise job armed by the create's commit: whichever ran first.
    deadline = time.monotonic() + FIRE_TIMEOUT_MS / 1000
    while (notification := Notification.objects.filter(task=task).first()) is None:
        assert time.monotonic() < deadline, "the reminder never fired"
        time.sleep(0.1)
    return notification


def open_page(context, url: str, path: str):
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    page.goto(url + path)
    return page


def wait_until_live(page, path: str) -> None:
    """The page's socket is open and its unread notices have been loaded (the list is no longer busy)."""
    live = page.locator("#dashboard") if path == "/tasks/" else page.locator("#notices")
    expect(live).to_have_attribute("data-live", "open", timeout=PAGE_TIMEOUT_MS)
    expect(page.locator("#notice-list")).to_have_attribute("aria-busy", "false", timeout=PAGE_TIMEOUT_MS)


def test_a_reminder_shows_on_the_chat_page_and_the_dashboard_and_snooze_re_arms_it(
        web_server, celery_worker_process, alice, browser_home, tmp_path):  # noqa: F811 (web_server: the fixture)
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    url = web_server.url
    earlier = unread_notice_for(alice, "Pay the plumber")
    cookie = session_cookie(alice, url)
    token = api_token_issue(user=alice)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=PAGE_TIMEOUT_MS)
        api = playwright.request.new_context(base_url=url, extra_http_headers={"Authorization": f"Bearer {token}"},
                                             timeout=PAGE_TIMEOUT_MS)
        try:
            # Alice said yes to desktop notifications in this browser before.
            context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
            context.grant_permissions(["notifications"], origin=url)
            context.add_init_script(RECORD_DESKTOP_NOTIFICATIONS)
            context.add_cookies([cookie])
            chat, dashboard = open_page(context, url, "/"), open_page(context, url, "/tasks/")
            for page, path in ((chat, "/"), (dashboard, "/tasks/")):
                wait_until_live(page, path)
                # Unread when the page opened: shown too, without a desktop notification (the page is open).
                expect(page.locator(".notice", has_text="Reminder: Pay the plumber")).to_be_visible()
                # Allowed already: no button asking for it.
                expect(page.get_by_role("button", name="Allow desktop notifications")).to_be_hidden()

            task = task_reminding_in(api, REMINDER_AHEAD, "Call the bank")
            text = "Reminder: Call the bank is due in 1 min"
            for page in (chat, dashboard):
                expect(page.locator(".notice", has_text=text)).to_be_visible(timeout=FIRE_TIMEOUT_MS)
                shown = page.evaluate("window.__desktopShown")
                assert [n["body"] for n in shown] == [text], shown
                assert page.evaluate("window.__permissionAsked") == 0

            # Snooze from the chat page: the notice goes, and the server has re-armed the reminder.
            chat.bring_to_front()
            with chat.expect_response(lambda r: r.url.endswith("/snooze")) as answer:
                chat.get_by_role("button", name=f"Snooze 10 minutes: {text}").click()
            assert answer.value.status == 200, answer.value.text()
            snoozed = answer.value.json()
            expect(chat.locator(".notice", has_text=text)).to_have_count(0)
            expect(chat.locator(".notice-status")).to_contain_text("Snoozed: reminds you again at")
            # Dismiss the earlier one on the chat page (marked read).
            with chat.expect_response(lambda r: r.url.endswith(f"/{earlier.pk}/read")) as marked:
                chat.get_by_role("button", name="Dismiss: Reminder: Pay the plumber").click()
            assert marked.value.status == 200, marked.value.text()
            expect(chat.locator(".notice")).to_have_count(0)

            # The API says so: both notices read, the task's reminder 10 minutes from now.
            notifications = api.get("/api/notifications?limit=10").json()
            read = {n["task_id"]: n["read_at"] for n in notifications}
            assert read[task["id"]] is not None and read[earlier.task_id] is not None, notifications
            assert api.get("/api/notifications?unread=true").json() == []
            remind_at = datetime.fromisoformat(snoozed["remind_at"])
            assert timedelta(minutes=9) < remind_at - datetime.now(timezone.utc) <= timedelta(minutes=10)
            assert snoozed["notification"]["read_at"] is not None

            # The dashboard, back in view, drops the notices handled on the chat page.
            dashboard.bring_to_front()
            dashboard.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
            expect(dashboard.locator(".notice")).to_have_count(0)
        finally:
            api.dispose()
            browser.close()

    snoozed_task = Task.objects.get(pk=task["id"])
    assert snoozed_task.reminder_sent_at is None and snoozed_task.snoozed_until is not None
    # (The API's JSON keeps milliseconds.)
    assert abs(snoozed_task.remind_at - datetime.fromisoformat(snoozed["remind_at"])) < timedelta(milliseconds=1)


def test_another_users_pages_never_show_my_notice(web_server, celery_worker_process, alice, bob,  # noqa: F811
                                                  browser_home):
    url = web_server.url
    bob_id = bob.pk
    alice_cookie, bob_cookie = session_cookie(alice, url), session_cookie(bob, url)
    alice_token = api_token_issue(user=alice)
    alice_earlier = unread_notice_for(alice, "Alice's earlier reminder")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=PAGE_TIMEOUT_MS)
        alice_api = playwright.request.new_context(base_url=url, timeout=PAGE_TIMEOUT_MS,
                                                   extra_http_headers={"Authorization": f"Bearer {alice_token}"})
        try:
            # Alice has not been asked about desktop notifications in this browser yet.
            alice_context = browser.new_context()
            alice_context.add_init_script(RECORD_DESKTOP_NOTIFICATIONS)
            alice_context.add_cookies([alice_cookie])
            bob_context = browser.new_context()
            bob_context.grant_permissions(["notifications"], origin=url)
            bob_context.add_init_script(RECORD_DESKTOP_NOTIFICATIONS)
            bob_context.add_cookies([bob_cookie])
            bob_frames: list[str] = []
            bob_context.on("page", lambda page: page.on(
                "websocket", lambda ws: ws.on("framereceived", lambda frame: bob_frames.append(frame))))

            alices = open_page(alice_context, url, "/")
            bobs = [open_page(bob_context, url, "/"), open_page(bob_context, url, "/tasks/")]
            for page, path in ((alices, "/"), (bobs[0], "/"), (bobs[1], "/tasks/")):
                wait_until_live(page, path)
            expect(alices.locator(".notice", has_text="Alice's earlier reminder")).to_be_visible()
            # The page offers to ask, and never asks on its own.
            expect(alices.get_by_role("button", name="Allow desktop notifications")).to_be_visible()
            assert alices.evaluate("window.__permissionAsked") == 0

            task_reminding_in(alice_api, REMINDER_AHEAD, "Alice's secret appointment")
            # The positive marker: Alice's page has it, so every push of it has been sent.
            expect(alices.locator(".notice", has_text="Alice's secret appointment")).to_be_visible(
                timeout=FIRE_TIMEOUT_MS)
            assert alices.evaluate("window.__desktopShown") == []  # not allowed: the page notice only
            for page in bobs:
                # Reopened, so that the unread notices are asked for again as well.
                page.reload()
            for page, path in zip(bobs, ("/", "/tasks/")):
                wait_until_live(page, path)
                expect(page.locator(".notice")).to_have_count(0)
                assert page.evaluate("window.__desktopShown") == []
            messages = [json.loads(frame) for frame in bob_frames]
            assert all(message["user_id"] == bob_id for message in messages), messages
        finally:
            alice_api.dispose()
            browser.close()
    assert alice_earlier.read_at is None
