"""The service worker in a real browser (headless Chromium): the settings page registers nothing
until asked, /sw.js registers at the site root, and a push message handed to it (through the
DevTools protocol, as a push service would wake it) shows the reminder as a system notification."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import sync_playwright

from devstack.testing import uvicorn_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def web_server(django_db_setup, tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")}
    env.update({"PYTHONUNBUFFERED": "1", "HOME": str(folder)})
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    with uvicorn_server(env, folder) as process:
        yield process


def test_a_pushed_reminder_is_shown_by_the_service_worker(web_server, browser_home, transactional_db):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.grant_permissions(["notifications"], origin=web_server.url)
            page = context.new_page()
            # Signed up in the browser (the server hashes the password itself).
            page.goto(web_server.url + "/accounts/signup/")
            page.fill("input[name=username]", "pia")
            page.fill("input[name=password]", "a-Long-passphrase-9")
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/" not in url)
            page.goto(web_server.url + "/settings/")
            # 127.0.0.1 is a secure context: the control is offered.
            page.get_by_role("button", name="Enable push notifications").wait_for()

            devtools = context.new_cdp_session(page)
            registrations: list[dict] = []
            devtools.on("ServiceWorker.workerRegistrationUpdated",
                        lambda event: registrations.extend(event["registrations"]))
            devtools.send("ServiceWorker.enable")
            scope = page.evaluate("""async () => {
                const registration = await navigator.serviceWorker.register("/sw.js", {scope: "/"});
                await navigator.serviceWorker.ready;
                return registration.scope;
            }""")
            assert scope == web_server.url + "/"
            [registration] = [r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]][:1]

            payload = {"title": "Reminder", "body": "Reminder: Call the dentist is due in an hour",
                       "tag": "notification-7", "url": "/tasks/"}
            devtools.send("ServiceWorker.deliverPushMessage", {
                "origin": web_server.url + "/", "registrationId": registration["registrationId"],
                "data": json.dumps(payload)})
            shown = page.wait_for_function("""async () => {
                const registration = await navigator.serviceWorker.ready;
                const shown = await registration.getNotifications();
                return shown.length ? shown.map((n) => [n.title, n.body, n.tag]) : null;
            }""", timeout=15000).json_value()
        finally:
            browser.close()
    assert shown == [["Reminder", "Reminder: Call the dentist is due in an hour", "notification-7"]]
