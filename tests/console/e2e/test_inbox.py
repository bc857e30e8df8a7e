"""End to end in Chromium: a new relay case cannot be missed (title count, banner, sound, desktop notification),
and an inbox whose session has ended says so instead of showing the sign-in form in its table.

Uses the server and browser of conftest.py (the real app on a thread, Debian's chromium through Playwright).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from gateway.relay import cases
from tests.conftest import RELAY_LINE, TEXTER, inbound_form
from tests.console.e2e.browser import DESKTOP, PHONE, signed_webhook
from tests.console.support import PASSWORD, make_user

REFRESH = 8000  # ms: the inbox refreshes every 5 s
TITLE = "Relay inbox - signpost console"

# Records notifications and sounds for the test to read back. Headless Chromium lets any page play sound;
# a desktop browser keeps an AudioContext suspended until the user has interacted with the page, so the
# wrapped AudioContext does the same.
RECORDER = """
(() => {
  window.__notes = [];
  window.__sounds = [];
  const RealNotification = window.Notification;
  function RecordedNotification(title, options) {
    window.__notes.push({title: title, body: (options && options.body) || "", tag: (options && options.tag) || ""});
    return new RealNotification(title, options);
  }
  Object.defineProperty(RecordedNotification, "permission", {get: () => RealNotification.permission});
  RecordedNotification.requestPermission = (...args) => RealNotification.requestPermission(...args);
  RecordedNotification.prototype = RealNotification.prototype;
  window.Notification = RecordedNotification;

  const RealAudioContext = window.AudioContext;
  window.AudioContext = class extends RealAudioContext {
    constructor(options) {
      super(options);
      this.blocked = !navigator.userActivation.hasBeenActive;
      if (this.blocked) super.suspend();
    }
    get state() { return this.blocked ? "suspended" : super.state; }
    resume() {
      if (this.blocked && !navigator.userActivation.hasBeenActive) return new Promise(() => {});
      this.blocked = false;
      return super.resume();
    }
  };
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.__sounds.push(this.context.state);
    return start.apply(this, args);
  };
})();
"""


def new_page(browser, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport)
    context.add_init_script(RECORDER)
    return context, context.new_page()


def sign_in(page, name: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def new_case(server: str, r, run_jobs, text: str, texter: str) -> cases.Case:
    assert signed_webhook(server, inbound_form(text, texter=texter, to=RELAY_LINE)) == 200
    run_jobs()
    return next(c for c in cases.open_cases(r) if c.texter == texter)


def notes(page) -> list[dict]:
    return page.evaluate("window.__notes")


def sounds(page) -> list[str]:
    return page.evaluate("window.__sounds")


def test_a_new_case_shows_in_title_and_banner_sounds_and_notifies(server, browser, r, run_jobs):
    make_user(r, "olly", "operator")
    context, page = new_page(browser)
    page.goto(f"{server}/console/login")
    sign_in(page, "olly")
    expect(page).to_have_url(f"{server}/console/inbox")
    # Opened afresh (a bookmark, say): the sign-in click no longer counts as interacting with this page.
    page.goto(f"{server}/console/inbox")
    expect(page).to_have_title(TITLE)
    banner = page.locator("#unacked")
    expect(banner).to_have_text("")

    # The browser holds sound back until the operator interacts with the page: the page says so.
    expect(page.locator("#sound-state")).to_have_text(re.compile("blocking sound"))
    page.get_by_role("button", name="Enable sound").click()
    expect(page.get_by_role("button", name="Mute sound")).to_be_visible()
    expect(page.locator("#sound-state")).to_have_text("Sound alerts are on.")
    page.wait_for_function("window.__sounds.length === 1")  # a test chime on enabling
    context.grant_permissions(["notifications"], origin=server)
    page.get_by_role("button", name="Enable desktop notifications").click()
    expect(page.locator("#notify-state")).to_have_text("Desktop notifications are on.")
    expect(page.get_by_role("button", name="Enable desktop notifications")).to_be_hidden()

    first = new_case(server, r, run_jobs, "Man outside my flat with a knife", TEXTER)
    expect(page).to_have_title(f"(1) {TITLE}", timeout=REFRESH)
    expect(banner).to_have_text(f"1 new emergency text not acknowledged. Open the oldest (case {first.id})")
    expect(banner.get_by_role("link", name="Open the oldest")).to_have_attribute("href", f"/console/cases/{first.id}")
    page.wait_for_function("window.__notes.length === 1")
    (note,) = notes(page)
    assert first.id in note["title"]
    assert re.fullmatch(r"Not acknowledged\. Opened \d+s ago\.", note["body"])
    shown = note["title"] + note["body"]
    assert TEXTER not in shown and TEXTER[-3:] not in shown and "knife" not in shown
    page.wait_for_function("window.__sounds.length === 2")
    assert sounds(page) == ["running", "running"]

    # Muting is remembered across reloads; a later case is shown and notified but plays nothing.
    page.get_by_role("button", name="Mute sound").click()
    expect(page.get_by_role("button", name="Unmute sound")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Unmute sound")).to_be_visible()
    expect(page.locator("#sound-state")).to_have_text("Sound alerts are muted.")
    expect(page).to_have_title(f"(1) {TITLE}")
    second = new_case(server, r, run_jobs, "Need help, deaf, burglary", TEXTER[:-3] + "456")
    expect(page).to_have_title(f"(2) {TITLE}", timeout=REFRESH)
    expect(banner).to_have_text(f"2 new emergency texts not acknowledged. Open the oldest (case {first.id})")
    page.wait_for_function("window.__notes.length === 1")
    assert second.id in notes(page)[0]["title"]
    assert sounds(page) == []  # the same refresh that notified would have played it

    # Acknowledging from the banner's link, then the other case by someone else: count and banner go.
    banner.get_by_role("link", name="Open the oldest").click()
    expect(page).to_have_url(f"{server}/console/cases/{first.id}")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged: reminders stopped.")).to_be_visible()
    page.get_by_role("link", name="Relay inbox").first.click()
    expect(page).to_have_title(f"(1) {TITLE}")
    expect(banner).to_have_text(f"1 new emergency text not acknowledged. Open the oldest (case {second.id})")
    cases.acknowledge(r, second.id, "console:someone")
    expect(page).to_have_title(TITLE, timeout=REFRESH)
    expect(banner).to_have_text("")
    expect(page.locator(".alarm")).to_have_count(0)
    context.close()


def test_a_signed_out_page_says_so_and_sign_in_returns_to_it(server, browser, r, run_jobs):
    make_user(r, "olly", "operator")
    case = new_case(server, r, run_jobs, "Someone is breaking in", TEXTER)
    context, page = new_page(browser, viewport=PHONE)
    context.grant_permissions(["notifications"], origin=server)
    page.goto(f"{server}/console/inbox")
    sign_in(page, "olly")
    expect(page).to_have_url(f"{server}/console/inbox")
    expect(page.get_by_role("link", name=case.id).first).to_be_visible()

    context.clear_cookies()  # the session ends (expired, or signed out elsewhere)
    notice = page.locator("#notices")
    expect(notice).to_contain_text("You have been signed out", timeout=REFRESH)
    expect(page).to_have_title(re.compile(r"^Signed out - "))
    rows = page.locator("#inbox-rows")
    expect(rows.locator("form, input")).to_have_count(0)
    expect(rows).not_to_contain_text("Sign in")
    expect(rows.get_by_role("link", name=case.id)).to_be_visible()  # the last rows stay, marked as stale
    page.wait_for_function("window.__notes.some(n => n.tag === 'signpost-signed-out')")
    assert all(TEXTER not in n["title"] + n["body"] for n in notes(page))

    notice.get_by_role("link", name="Sign in again").click()
    expect(page).to_have_url(f"{server}/console/login?next=/console/inbox")
    sign_in(page, "olly")
    expect(page).to_have_url(f"{server}/console/inbox")
    expect(page.locator("#notices")).to_have_text("")

    # The case thread refreshes too: it stops and sends its reader back to the case, not the fragment.
    page.goto(f"{server}/console/cases/{case.id}")
    expect(page.get_by_text("Someone is breaking in")).to_be_visible()
    context.clear_cookies()
    expect(page.locator("#notices")).to_contain_text("You have been signed out", timeout=REFRESH)
    expect(page.locator(".thread form, .thread input")).to_have_count(0)
    page.locator("#notices").get_by_role("link", name="Sign in again").click()
    sign_in(page, "olly")
    expect(page).to_have_url(f"{server}/console/cases/{case.id}")
    context.close()


def test_an_inbox_that_cannot_reach_the_server_says_so(server, browser, r, run_jobs):
    make_user(r, "olly", "operator")
    case = new_case(server, r, run_jobs, "He is here", TEXTER)
    context, page = new_page(browser)
    page.goto(f"{server}/console/inbox")
    sign_in(page, "olly")
    expect(page.get_by_role("link", name=case.id).first).to_be_visible()
    page.route("**/console/inbox/rows", lambda route: route.abort())  # the network or the server is gone
    notice = page.locator("#notices .offline")
    expect(notice).to_contain_text("Not updating: the console cannot reach the server", timeout=3 * REFRESH)
    expect(notice).to_have_attribute("role", "alert")
    expect(page.locator("#inbox-rows")).to_have_class(re.compile(r"\bstale\b"))
    page.unroute("**/console/inbox/rows")
    later = new_case(server, r, run_jobs, "Still here", "+447911000456")
    expect(page.get_by_role("link", name=later.id).first).to_be_visible(timeout=2 * REFRESH)
    expect(page.locator("#notices .offline")).to_have_count(0)
    expect(page.locator("#inbox-rows")).not_to_have_class(re.compile(r"\bstale\b"))
    context.close()
