"""Helpers for the end-to-end tests: Debian's chromium and how it is started, viewports, a webhook signed as
Twilio signs it, and signing in through the real login page."""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

from tests.conftest import PUBLIC_URL, sign
from tests.console.support import PASSWORD

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def signed_webhook(base: str, form: dict[str, str]) -> int:
    """POST a form to /sms signed exactly as Twilio signs it for PUBLIC_URL (the app checks against that)."""
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(f"{base}/sms", data=data,
                                     headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/sms", form)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def sign_in(browser, base: str, name: str, viewport=DESKTOP, shot: Path | None = None):
    page = browser.new_page(viewport=viewport)
    page.goto(f"{base}/console/login")
    if shot:
        page.screenshot(path=str(shot))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"{name} (")).to_be_visible()
    return page
