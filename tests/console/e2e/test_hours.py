"""End to end in Chromium: staff give STALKING opening hours and a closed reply on the keyword form, the preview
shows the closed reply at a moment they pick, and the sandbox, at 3am on a Saturday, answers with it.

Uses the server and browser of conftest.py (the real app on a thread, Debian's chromium through Playwright).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.e2e.browser import sign_in
from tests.console.support import make_user

CLOSED = ("The National Stalking Helpline, 0808 802 0300, is closed now and opens {opens}. "
          "If you are in danger, call 999.")
WEEKDAYS = {"Monday": "09:30-16:00", "Tuesday": "09:30-16:00", "Wednesday": "13:00-16:00",
            "Thursday": "09:30-16:00", "Friday": "09:30-16:00"}


def test_hours_preview_and_sandbox_at_a_moment(server, browser, r, standin, shots):
    make_user(r, "hana", "editor")
    page = sign_in(browser, server, "hana")
    page.goto(f"{server}/console/sets/main/keywords/STALKING")
    for day, hours in WEEKDAYS.items():
        page.get_by_label(day, exact=True).fill(hours)
    page.get_by_label("Sent while closed").fill(CLOSED)
    page.get_by_label("Preview at (UK time)").fill("2026-11-28T03:00")
    box = page.locator("#pv-closed_reply_en")
    expect(box.locator('[data-pv="state"]')).to_have_text("closed")
    expect(box.locator('[data-pv="filled"]')).to_have_text(
        CLOSED.replace("{opens}", "on Monday 30 November at 9:30am"))
    # The preview follows the hours and the moment as they are typed.
    page.get_by_label("Preview at (UK time)").fill("2026-11-30T09:30")
    expect(box.locator('[data-pv="state"]')).to_have_text("open")
    page.get_by_label("Monday", exact=True).fill("10:00-16:00")
    expect(box.locator('[data-pv="state"]')).to_have_text("closed")
    expect(box.locator('[data-pv="filled"]')).to_have_text(CLOSED.replace("{opens}", "today at 10am"))
    page.get_by_label("Monday", exact=True).fill("09:30-16:00")
    expect(box.locator('[data-pv="state"]')).to_have_text("open")
    page.screenshot(path=str(shots / "keyword-hours.png"), full_page=True)
    page.get_by_role("button", name="Save to draft").click()
    expect(page.get_by_text("STALKING saved to the draft")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Open \(UK time\): Mon 09:30-16:00"))).to_be_visible()

    page.goto(f"{server}/console/sandbox")
    page.get_by_label("Texting number").select_option("82228")
    page.get_by_label("Answer from").select_option("draft")
    page.get_by_label("Moment (UK time)").fill("2026-11-28T03:00")
    page.get_by_label("Text message").fill("stalking")
    page.get_by_role("button", name="Send").click()
    closed = CLOSED.replace("{opens}", "on Monday 30 November at 9:30am")
    expect(page.locator(".bubble.out").last).to_have_text(re.compile(re.escape(closed[-60:])))
    expect(page.locator(".thread .note").last).to_contain_text(
        "STALKING is closed, opens on Monday 30 November at 9:30am at this moment")
    assert page.get_by_label("Moment (UK time)").input_value() == "2026-11-28T03:00"
    # The same text at 9:30 on the Monday gets the reply for an open helpline.
    page.get_by_label("Moment (UK time)").fill("2026-11-30T09:30")
    page.get_by_label("Text message").fill("stalking")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".thread .note").last).to_contain_text("STALKING is open at this moment")
    expect(page.locator(".bubble.out").last).to_have_text(re.compile("call 999"))
    page.screenshot(path=str(shots / "sandbox-hours.png"), full_page=True)
    assert standin.messages == []  # the sandbox sent nothing
