"""End to end in a real headless Chromium (Debian's chromium, driven by Playwright): the console served by a
real HTTP server thread, replies sent by a real RQ worker to the Twilio stand-in.

The fixtures are in conftest.py; SIGNPOST_SCREENSHOTS=1 writes the README's screenshots into docs/screenshots/.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from gateway.relay import cases
from tests.conftest import RELAY_LINE, TEXTER, inbound_form, release_scheduled
from tests.console.e2e.browser import DESKTOP, PHONE, sign_in, signed_webhook
from tests.console.support import PASSWORD, make_user


def test_edit_preview_publish_sandbox_and_webhook(server, browser, r, run_jobs, standin, shots):
    make_user(r, "edna", "editor")
    page = sign_in(browser, server, "edna", shot=shots / "login.png")
    page.goto(f"{server}/console/keywords")
    expect(page.get_by_role("heading", name="Keywords")).to_be_visible()
    page.screenshot(path=str(shots / "keywords.png"), full_page=True)

    page.get_by_role("link", name="Edit DVS").click()
    reply = page.get_by_label("Reply")
    encoding = page.locator('#pv-reply_en [data-pv="encoding"]')
    segments = page.locator('#pv-reply_en [data-pv="segments"]')
    expect(encoding).to_have_text("GSM-7")
    expect(segments).to_have_text("2")
    new_text = ("Derbyshire Victim Services can help, whenever it happened. Call 0800 612 6505. "
                "If you are in danger, call 999.")
    reply.fill(new_text)
    expect(encoding).to_have_text("GSM-7")
    expect(segments).to_have_text("1")
    reply.press("Home")
    reply.press_sequentially("It’s ok. ")  # a curly apostrophe, as a word processor puts it
    expect(encoding).to_have_text("UCS-2")
    expect(segments).to_have_text("2")
    expect(page.locator("#pv-reply_en mark").first).to_have_text("’")
    page.screenshot(path=str(shots / "editor-preview.png"), full_page=True)
    page.get_by_role("button", name="Replace with '").click()
    expect(encoding).to_have_text("GSM-7")
    expect(segments).to_have_text("1")
    assert reply.input_value() == "It's ok. " + new_text
    reply.fill(new_text)
    expect(segments).to_have_text("1")
    page.get_by_role("button", name="Save to draft").click()
    expect(page.get_by_text("DVS saved to the draft")).to_be_visible()

    page.goto(f"{server}/console/draft")
    page.get_by_label("What changed").fill("shorter DVS reply")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()

    page.goto(f"{server}/console/sandbox")
    page.get_by_label("Texting number").select_option("82228")
    page.get_by_label("Text message").fill("dvs")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble.out").last).to_have_text(re.compile(re.escape(new_text)))
    page.screenshot(path=str(shots / "sandbox.png"), full_page=True)
    phone = browser.new_page(viewport=PHONE)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{server}/console/sandbox")
    phone.screenshot(path=str(shots / "sandbox-phone.png"), full_page=True)
    phone.goto(f"{server}/console/keywords")
    phone.screenshot(path=str(shots / "keywords-phone.png"))
    assert standin.messages == []  # the sandbox sent nothing

    assert signed_webhook(server, inbound_form("DVS please")) == 200
    run_jobs()
    assert standin.messages[-1]["to"] == TEXTER
    assert standin.messages[-1]["body"] == new_text


def test_operator_acknowledges_a_case_and_realerts_stop(server, browser, r, queues, run_jobs, standin, shots):
    make_user(r, "olly", "operator")
    assert signed_webhook(server, inbound_form("Man outside my flat with a knife, I cannot speak",
                                               to=RELAY_LINE)) == 200
    run_jobs()
    (case,) = cases.open_cases(r)
    page = sign_in(browser, server, "olly")
    expect(page.get_by_role("heading", name="Relay inbox")).to_be_visible()
    expect(page.get_by_role("link", name=case.id)).to_be_visible()
    # A new case shows up without reloading the page.
    assert signed_webhook(server, inbound_form("Need help, deaf, burglary", texter="+447911000456",
                                               to=RELAY_LINE)) == 200
    run_jobs()
    newer = next(c for c in cases.open_cases(r) if c.id != case.id)
    expect(page.get_by_role("link", name=newer.id)).to_be_visible(timeout=8000)
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)

    page.get_by_role("link", name=case.id).click()
    expect(page.get_by_text("Man outside my flat")).to_be_visible()
    page.screenshot(path=str(shots / "case.png"), full_page=True)
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged: reminders stopped.")).to_be_visible()
    assert cases.get(r, case.id).state == cases.ACKNOWLEDGED
    page.get_by_label("Reply to the texter").fill("We have your message. Officers are on the way.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".bubble.out").last).to_have_text(re.compile("Officers are on the way"))
    page.screenshot(path=str(shots / "case-acknowledged.png"), full_page=True)

    run_jobs()
    reminders_before = [m for m in standin.messages if "UNACKNOWLEDGED" in m["body"]]
    release_scheduled(queues)  # both cases' reminders are due now
    run_jobs()
    reminders = [m for m in standin.messages if "UNACKNOWLEDGED" in m["body"]]
    assert reminders_before == []
    assert reminders and all(f"Case {newer.id}" in m["body"] for m in reminders)  # only the unacknowledged one
    assert not any(f"Case {case.id}" in m["body"] for m in reminders)

    page.goto(f"{server}/console/messages")
    expect(page.get_by_role("heading", name="Message log")).to_be_visible()
    page.screenshot(path=str(shots / "messages.png"), full_page=True)
    phone = browser.new_page(viewport=PHONE)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{server}/console/inbox")
    phone.screenshot(path=str(shots / "inbox-phone.png"), full_page=True)


def test_a_browser_that_signed_in_before_is_not_locked_out_by_an_attacker(server, browser, r):
    """OWASP's device cookies in a real browser: failures in another browser never lock out this one."""
    make_user(r, "dana", "editor")
    trusted = browser.new_context(viewport=DESKTOP)
    page = trusted.new_page()
    for _ in range(2):  # sign in, sign out, and again: the device cookie is renewed each time
        page.goto(f"{server}/console/login")
        page.get_by_label("Name").fill("Dana")  # any case
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("dana (")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_text("Signed out.")).to_be_visible()
    device = [c for c in trusted.cookies() if c["name"] == "signpost_device_dana"]
    assert device and device[0]["httpOnly"] and device[0]["path"] == "/console/login"

    attacker = browser.new_context(viewport=DESKTOP).new_page()
    attacker.goto(f"{server}/console/login")
    for _ in range(6):
        attacker.get_by_label("Name").fill("dana")
        attacker.get_by_label("Password").fill("not the password at all")
        attacker.get_by_role("button", name="Sign in").click()
    expect(attacker.get_by_text("Too many failed sign-ins")).to_be_visible()

    # A new browser with the right password is refused (from the attacker's address, too) ...
    stranger = browser.new_context(viewport=DESKTOP).new_page()
    stranger.goto(f"{server}/console/login")
    stranger.get_by_label("Name").fill("dana")
    stranger.get_by_label("Password").fill(PASSWORD)
    stranger.get_by_role("button", name="Sign in").click()
    expect(stranger.get_by_text("except in a browser you have signed in with before")).to_be_visible()

    # ... and the browser dana signed in with before still signs in.
    page.get_by_label("Name").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("dana (")).to_be_visible()
    expect(page.get_by_role("heading", name="Keywords")).to_be_visible()
