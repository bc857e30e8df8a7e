"""End to end in Chromium: staff edit the texts a relay texter gets, the 'not read yet' preview counting {id} as a
case id."""

from __future__ import annotations

from playwright.sync_api import expect

from gateway.keywords import versions
from gateway.keywords.reader import parse_book
from tests.console.e2e.browser import DESKTOP, sign_in
from tests.console.support import make_user


def test_relay_texts_edited_with_the_case_id_counted(server, browser, r, shots):
    make_user(r, "edna", "editor")
    page = sign_in(browser, server, "edna", viewport=DESKTOP)
    page.goto(f"{server}/console/keywords")
    page.get_by_role("link", name="Edit texter messages").click()
    unread = page.get_by_label("Not read yet")
    segments = page.locator('#pv-unread_en [data-pv="segments"]')
    expect(segments).to_have_text("1")
    expect(page.locator("#pv-unread_en")).to_contain_text("Counted with {id} as a case id")
    # 69 UCS-2 units as typed: one part; 71 with a 6-character case id in place of {id}: two.
    unread.fill("Case {id}: \u0142" + "a" * 47 + " Call 999.")
    expect(segments).to_have_text("2")
    unread.fill("Case {id}: nobody has read it yet. In danger, call 999.")
    expect(segments).to_have_text("1")
    page.screenshot(path=str(shots / "relay-texts.png"), full_page=True)
    page.get_by_label("Could not reach the control room").fill("Not passed on.")
    page.get_by_role("button", name="Save to draft").click()
    expect(page.locator("#err-failed_en")).to_contain_text("must tell people in danger to call 999")
    page.get_by_label("Could not reach the control room").fill("Not passed on. In danger, call 999.")
    page.get_by_role("button", name="Save to draft").click()
    expect(page.get_by_text("saved to the draft")).to_be_visible()
    book = parse_book(versions.get_draft(r).text)
    assert book.relay_text("+447800002414", "unread") == "Case {id}: nobody has read it yet. In danger, call 999."
    assert book.relay_text("+447800002414", "failed") == "Not passed on. In danger, call 999."
