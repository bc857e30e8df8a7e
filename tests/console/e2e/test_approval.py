"""End to end in Chromium: two people before a reply goes live. An editor edits and submits; she cannot approve
her own draft; a second editor reviews every changed reply with its encoding and SMS parts, sends it back with
a comment; she changes it and submits again; he approves; the live reply changes; the audit log names both.

Uses the server and browser of conftest.py; SIGNPOST_SCREENSHOTS=1 writes docs/screenshots/approval*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gateway.keywords import versions
from tests.conftest import TEXTER, inbound_form
from tests.console.e2e.browser import DESKTOP, sign_in, signed_webhook
from tests.console.support import make_user

CURLY = ("It\u2019s never too late: Derbyshire Victim Services can help, whenever it happened. "
         "Call 0800 612 6505. In danger, call 999.")
PLAIN = CURLY.replace("\u2019", "'")
COMMENT = "Curly apostrophe: this costs 2 texts instead of 1. Please use a straight one."


@pytest.fixture
def config(config):
    return {**config, "PUBLISH_REQUIRES_APPROVAL": "true"}


def edit_dvs(page, base: str, text: str) -> None:
    page.goto(f"{base}/console/keywords")
    page.get_by_role("link", name="Edit DVS").click()
    page.get_by_label("Reply").fill(text)
    # The live preview redraws below the field as it answers: let it settle before clicking under it.
    expect(page.locator('#pv-reply_en [data-pv="chars"]')).to_have_text(str(len(text)))
    page.get_by_role("button", name="Save to draft").click()
    expect(page.get_by_text("DVS saved to the draft")).to_be_visible()


def submit(page, base: str, message: str) -> None:
    page.goto(f"{base}/console/draft")
    page.get_by_label("What changed").fill(message)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Submitted for approval: another editor must approve it")).to_be_visible()


def shoot(page, path, down_to: str) -> None:
    """A screenshot of the page from the top down to the element `down_to` (the file diff below is long)."""
    box = page.locator(down_to).bounding_box()
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": 0, "width": DESKTOP["width"], "height": box["y"] + box["height"] + 16})


def dvs_cell(page, side: str):
    return page.locator(f'tr[data-reply="main/DVS/en"] td.{side}')


def test_two_people_before_a_reply_goes_live(server, browser, r, run_jobs, standin, shots):
    make_user(r, "alice", "editor")
    make_user(r, "bob", "editor")
    make_user(r, "ada", "admin")
    alice = sign_in(browser, server, "alice")
    edit_dvs(alice, server, CURLY)
    submit(alice, server, "warmer DVS reply")

    # Alice cannot approve her own draft: no button, and the server refuses the request itself.
    expect(alice.get_by_text("You edited or submitted this draft, so another editor must approve it")).to_be_visible()
    expect(alice.get_by_role("button", name="Approve and publish")).to_have_count(0)
    expect(alice.get_by_role("button", name="Send back")).to_have_count(0)
    token = alice.locator('meta[name="csrf-token"]').get_attribute("content")
    digest = alice.locator('input[name="digest"]').first.input_value()
    refused = alice.request.post(f"{server}/console/draft/approve", form={"csrf_token": token, "digest": digest})
    assert refused.status == 403 and "another person must review it" in refused.text()
    assert versions.live_number(r) is None

    # Bob reviews every changed reply with its encoding and parts, and sends it back with a comment.
    bob = sign_in(browser, server, "bob")
    bob.get_by_role("link", name="Draft", exact=True).click()
    expect(bob.get_by_text("Submitted for approval by console:alice")).to_be_visible()
    expect(bob.locator("#reply-changes tbody tr")).to_have_count(1)
    expect(dvs_cell(bob, "before").locator("[data-encoding]")).to_have_text("GSM-7")
    expect(dvs_cell(bob, "before").locator("[data-segments]")).to_have_text("2")
    expect(dvs_cell(bob, "after").locator(".sms-text")).to_have_text(CURLY)
    expect(dvs_cell(bob, "after").locator("[data-encoding]")).to_have_text("UCS-2")
    expect(dvs_cell(bob, "after").locator("[data-segments]")).to_have_text("2")
    shoot(bob, shots / "approval.png", "#send-back")
    bob.get_by_label("Comment for the author").fill(COMMENT)
    bob.get_by_role("button", name="Send back").click()
    expect(bob.get_by_text("Sent back to console:alice with your comment.")).to_be_visible()

    # Alice sees the comment, fixes the reply and submits it again.
    alice.goto(f"{server}/console/draft")
    expect(alice.locator("#returned")).to_contain_text("Sent back by console:bob")
    expect(alice.locator("#returned blockquote")).to_have_text(COMMENT)
    shoot(alice, shots / "approval-sent-back.png", "#submit")
    edit_dvs(alice, server, PLAIN)
    submit(alice, server, "warmer DVS reply, plain characters")

    # Bob sees the new text (one GSM-7 part) and approves: it goes live.
    bob.goto(f"{server}/console/draft")
    expect(dvs_cell(bob, "after").locator(".sms-text")).to_have_text(PLAIN)
    expect(dvs_cell(bob, "after").locator("[data-encoding]")).to_have_text("GSM-7")
    expect(dvs_cell(bob, "after").locator("[data-segments]")).to_have_text("1")
    bob.get_by_role("button", name="Approve and publish").click()
    expect(bob.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(bob.locator(".facts")).to_contain_text("console:alice")
    expect(bob.locator(".facts")).to_contain_text("Approved by")
    expect(bob.locator(".facts")).to_contain_text("console:bob")
    version = versions.get(r, versions.live_number(r))
    assert (version.number, version.author, version.approved_by) == (1, "console:alice", "console:bob")

    # The live reply changed: a text for DVS gets the approved wording.
    assert signed_webhook(server, inbound_form("dvs")) == 200
    run_jobs()
    assert standin.messages[-1]["to"] == TEXTER and standin.messages[-1]["body"] == PLAIN

    # The audit log names both.
    ada = sign_in(browser, server, "ada")
    ada.get_by_role("link", name="Audit").click()
    approved = ada.locator("tbody tr", has=ada.locator("td", has_text=re.compile("^approved$")))
    expect(approved).to_have_count(1)
    expect(approved.locator("td").nth(1)).to_have_text("bob")
    expect(approved).to_contain_text("submitted by console:alice, approved and published by console:bob")
    sent_back = ada.locator("tbody tr", has=ada.locator("td", has_text=re.compile("^draft-sent-back$")))
    expect(sent_back).to_contain_text(COMMENT)
    submitted = ada.locator("tbody tr", has=ada.locator("td", has_text=re.compile("^draft-submitted$")))
    expect(submitted).to_have_count(2)
    expect(submitted.first.locator("td").nth(1)).to_have_text("alice")
