"""Sign-up in a real browser (headless Chromium) starts the account in the browser's time zone:
the page's script fills the hidden field from Intl.DateTimeFormat().resolvedOptions().timeZone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from playwright.sync_api import sync_playwright

from devstack.testing import uvicorn_server
from tasks_app import selectors

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


@pytest.mark.parametrize("browser_zone", ["Asia/Tokyo", "America/Sao_Paulo"])
def test_sign_up_in_a_browser_starts_the_account_in_its_time_zone(web_server, browser_home, transactional_db,
                                                                  browser_zone):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (see the Makefile)"
    username = "zoe-" + browser_zone.split("/")[1].lower()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(timezone_id=browser_zone).new_page()
            page.goto(web_server.url + "/accounts/signup/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "a-Long-passphrase-9")
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/signup/" not in url)
        finally:
            browser.close()

    user = get_user_model().objects.get(username=username)
    assert selectors.profile_get(user=user).timezone == browser_zone
