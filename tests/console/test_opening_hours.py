"""Opening hours in the console: the keyword form shows and edits them with the closed reply, the preview and
the sandbox answer at a chosen moment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest

from gateway.console import editor
from gateway.keywords import engine, versions
from gateway.keywords.reader import parse_book
from tests.conftest import ROOT, SHORT_CODE
from tests.console.support import REFERER, post, token
from tests.keyword_files import with_opening_hours

STALKING = "/console/sets/main/keywords/STALKING"
OPEN = "National Stalking Helpline: 0808 802 0300. If you are in danger, call 999."
CLOSED = "The National Stalking Helpline, 0808 802 0300, opens {opens}. If you are in danger, call 999."
WEEKDAYS = {"hours_monday": "09:30-16:00", "hours_tuesday": "09:30-16:00", "hours_wednesday": "13:00-16:00",
            "hours_thursday": "09:30-16:00", "hours_friday": "09:30-16:00"}
NIGHT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def stalking_form(**overrides) -> dict:
    form = {"name": "STALKING", "aliases_en": "STALKER, STALKED, STALK", "reply_en": OPEN,
            "closed_reply_en": CLOSED, "hours_bank_holidays": "closed", **WEEKDAYS}
    form.update(overrides)
    return form


def draft_book(r):
    return parse_book(versions.get_draft(r).text)


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<ul class="errors" id="err-{field}">(.*?)</ul>', page, re.S)
    return unescape(found.group(1)) if found else ""


def test_the_form_saves_hours_and_the_closed_reply(signed_in, r):
    client = signed_in("editor")
    page = client.get(STALKING).get_data(as_text=True)
    assert 'name="hours_monday"' in page and 'name="closed_reply_en"' in page and "Opening hours" in page
    response = post(client, STALKING, stalking_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    book = draft_book(r)
    assert engine.decide(book, "stalking", SHORT_CODE, at=NIGHT).reply == CLOSED.replace(
        "{opens}", "on Monday 30 November at 9:30am")
    assert engine.decide(book, "stalking", SHORT_CODE, at=datetime(2026, 11, 30, 10, tzinfo=UTC)).reply == OPEN
    data = versions.load_structure(versions.get_draft(r).text)["sets"]["main"]["keywords"]["STALKING"]
    assert data["hours"] == {"monday": "09:30-16:00", "tuesday": "09:30-16:00", "wednesday": "13:00-16:00",
                             "thursday": "09:30-16:00", "friday": "09:30-16:00"}
    listing = unescape(client.get("/console/keywords").get_data(as_text=True))
    assert "Open (UK time): Mon 09:30-16:00 · Tue 09:30-16:00 · Wed 13:00-16:00" in listing and CLOSED in listing
    again = client.get(STALKING).get_data(as_text=True)
    assert 'value="13:00-16:00"' in again and unescape(CLOSED) in unescape(again)


def test_the_form_shows_the_shipped_example_and_keeps_it_on_save(signed_in, r):
    text = with_opening_hours((ROOT / "keywords.yaml").read_text())
    versions.save_draft(r, text, None, "test")
    client = signed_in("editor")
    page = client.get(STALKING).get_data(as_text=True)
    assert 'id="f-hours_wednesday" name="hours_wednesday" value="13:00-16:00"' in page
    assert 'id="f-hours_saturday" name="hours_saturday" value=""' in page
    assert '<option value="closed" selected>' in page and "is closed now and opens {opens}" in page
    before = parse_book(text).sets["main"].keywords["STALKING"]
    values = {name: value for name, value in re.findall(r'name="(hours_\w+day)" value="([^"]*)"', page)}
    closed = re.search(r'name="closed_reply_en"[^>]*>([^<]*)</textarea>', page).group(1)
    reply = re.search(r'name="reply_en"[^>]*>([^<]*)</textarea>', page).group(1)
    assert post(client, STALKING, stalking_form(reply_en=unescape(reply), closed_reply_en=unescape(closed),
                                                **values)).status_code == 302
    after = draft_book(r).sets["main"].keywords["STALKING"]
    assert (after.hours, after.closed_replies, after.replies) == (before.hours, before.closed_replies, before.replies)


@pytest.mark.parametrize(("overrides", "field", "says"), [
    ({"hours_monday": "9-5"}, "hours_monday", "'9-5' is not a time range like 09:30-16:00"),
    ({"hours_tuesday": "16:00-09:30"}, "hours_tuesday", "closes before it opens"),
    ({"hours_bank_holidays": "sometimes"}, "hours_bank_holidays", "'sometimes' must be closed or open"),
    ({"closed_reply_en": ""}, "closed_reply_en", "missing field 'closed_reply'"),
    ({"closed_reply_en": "Closed now. If you are in danger, call 999."}, "closed_reply_en", "put {opens} where"),
    ({"closed_reply_en": "Closed, opens {opens}."}, "closed_reply_en", "must tell people in danger to call 999"),
    ({"hours_monday": "", "hours_tuesday": "", "hours_wednesday": "", "hours_thursday": "", "hours_friday": ""},
     "closed_reply_en", "a closed_reply needs hours"),
    ({"hours_monday": "closed", "hours_tuesday": "closed", "hours_wednesday": "closed", "hours_thursday": "",
      "hours_friday": ""}, "hours", "open on no day of the week"),
    ({"reply_en": "Helpline opens {opens}. In danger, call 999."}, "reply_en", "{opens} only works in a closed_reply"),
])
def test_refusals_are_shown_on_their_field(signed_in, r, overrides, field, says):
    client = signed_in("editor")
    response = post(client, STALKING, stalking_form(**overrides))
    assert response.status_code == 400
    assert says in field_error(response.get_data(as_text=True), field)
    assert versions.get_draft(r) is None  # nothing saved


def test_clearing_the_hours_and_closed_reply_removes_them(signed_in, r):
    client = signed_in("editor")
    post(client, STALKING, stalking_form())
    cleared = {day: "" for day in WEEKDAYS}
    assert post(client, STALKING, stalking_form(closed_reply_en="", **cleared)).status_code == 302
    data = versions.load_structure(versions.get_draft(r).text)["sets"]["main"]["keywords"]["STALKING"]
    assert "hours" not in data and "closed_reply" not in data
    assert engine.decide(draft_book(r), "stalking", SHORT_CODE, at=NIGHT).reply == OPEN


def test_bank_holidays_open_is_saved(signed_in, r):
    client = signed_in("editor")
    assert post(client, STALKING, stalking_form(hours_bank_holidays="open")).status_code == 302
    christmas = datetime(2026, 12, 25, 10, tzinfo=UTC)
    assert engine.decide(draft_book(r), "stalking", SHORT_CODE, at=christmas).reply == OPEN


def test_the_form_keeps_fields_it_does_not_show(signed_in, r, monkeypatch):
    """A field this form does not know (one a later version of the file may have) survives a save."""
    text = (ROOT / "keywords.yaml").read_text().replace(
        "        aliases: [STALKER, STALKED, STALK]\n",
        "        aliases: [STALKER, STALKED, STALK]\n        note: kept by the form\n")
    assert "note: kept" in text
    checked = editor.parse_book
    monkeypatch.setattr(editor, "parse_book", lambda t, source="": checked(t.replace(
        "    note: kept by the form\n", "\n"), source))
    versions.save_draft(r, text, None, "test")
    client = signed_in("editor")
    assert post(client, STALKING, stalking_form()).status_code == 302
    saved = versions.load_structure(versions.get_draft(r).text)["sets"]["main"]["keywords"]["STALKING"]
    assert saved["note"] == "kept by the form"
    assert saved["closed_reply"] == CLOSED and saved["hours"]["wednesday"] == "13:00-16:00"


# --- preview -----------------------------------------------------------------------------------------------------

def preview(client, **payload):
    return client.post("/console/api/preview", json=payload, headers={**REFERER, "X-CSRFToken": token(client)})


HOURS = {"monday": "09:30-16:00", "wednesday": "13:00-16:00", "saturday": "", "bank_holidays": "closed"}


@pytest.mark.parametrize(("at", "is_open", "opens", "shown"), [
    ("2026-11-28T03:00", False, "on Monday 30 November at 9:30am", "Sat 28 Nov 2026 03:00"),
    ("2026-11-30T09:29:59", False, "today at 9:30am", "Mon 30 Nov 2026 09:29"),
    ("2026-11-30T09:30", True, None, "Mon 30 Nov 2026 09:30"),
    ("2026-11-30T16:00", False, "on Wednesday 2 December at 1pm", "Mon 30 Nov 2026 16:00"),
    ("2026-06-01T09:30", True, None, "Mon 01 Jun 2026 09:30"),  # BST
    ("2026-12-28T10:00", False, "on Wednesday 30 December at 1pm", "Mon 28 Dec 2026 10:00"),  # a bank holiday
])
def test_preview_of_a_closed_reply_at_a_moment(signed_in, at, is_open, opens, shown):
    client = signed_in("editor")
    data = preview(client, text=CLOSED, hours=HOURS, at=at).get_json()
    assert (data["open"], data["opens"], data["at"], data["hours_error"]) == (is_open, opens, shown, None)
    if opens:
        assert data["filled"] == CLOSED.replace("{opens}", opens) and data["chars"] == len(data["filled"])
    else:
        assert "on Wednesday 30 September at midnight" in data["filled"]  # counted as long as it can be


def test_preview_in_another_language_and_with_wrong_hours(signed_in):
    client = signed_in("editor")
    welsh = preview(client, text="Ar agor {opens}. 999.", hours=HOURS, at="2026-11-28T03:00", language="cy")
    assert welsh.get_json()["filled"] == "Ar agor 30/11 09:30. 999."
    wrong = preview(client, text=CLOSED, hours={"monday": "9 till 5"}, at="2026-11-28T03:00").get_json()
    assert wrong["hours_error"] == "monday: '9 till 5' is not a time range like 09:30-16:00 (or closed, or all day)"
    assert wrong["open"] is None and wrong["segments"] == 1
    now = preview(client, text=CLOSED, hours=HOURS).get_json()
    assert now["open"] in (True, False) and now["at"]
    plain = preview(client, text=CLOSED).get_json()
    assert "open" not in plain and plain["chars"] == len(CLOSED)


@pytest.mark.parametrize(("payload", "says"), [
    ({"hours": "09:30-16:00"}, "hours must be an object"),
    ({"hours": {"monday": 930}}, "hours must be an object"),
    ({"hours": HOURS, "at": "tomorrow"}, "at: 'tomorrow' is not a date and time"),
    ({"hours": HOURS, "at": "2026-03-29T01:30"}, "does not exist in London"),
    ({"hours": HOURS, "at": 5}, "at and language must be strings"),
    ({"hours": HOURS, "language": ["cy"]}, "at and language must be strings"),
])
def test_preview_refuses_wrong_hours_shapes(signed_in, payload, says):
    client = signed_in("editor")
    response = preview(client, text=CLOSED, **payload)
    assert response.status_code == 400 and says in response.get_json()["error"]


# --- sandbox -----------------------------------------------------------------------------------------------------

def test_sandbox_answers_at_the_chosen_moment(signed_in, r):
    client = signed_in("editor")
    post(client, STALKING, stalking_form())
    response = post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "stalking", "source": "draft",
                                                  "at": "2026-11-28T03:00"})
    assert response.status_code == 302 and "at=2026-11-28T03:00" in response.headers["Location"]
    post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "stalking", "source": "draft",
                                      "at": "2026-11-30T09:30"})
    page = unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert CLOSED.replace("{opens}", "on Monday 30 November at 9:30am") in page
    assert "STALKING is closed, opens on Monday 30 November at 9:30am at this moment" in page
    assert "Sat 28 Nov 2026 03:00" in page and "Mon 30 Nov 2026 09:30" in page
    assert "STALKING is open at this moment" in page and OPEN in page
    assert 'value="2026-11-28T03:00"' in page  # the moment stays picked


def test_sandbox_without_a_moment_answers_now_and_refuses_a_bad_one(signed_in, r):
    client = signed_in("editor")
    post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "dvs", "source": "live", "at": ""})
    page = client.get("/console/sandbox").get_data(as_text=True)
    assert "(now)" in page and "Derbyshire Victim Services" in page
    response = post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "stalking", "source": "live",
                                                  "at": "2026-03-29T01:30"}, follow_redirects=True)
    page = unescape(response.get_data(as_text=True))
    assert "Moment: 2026-03-29T01:30 does not exist in London" in page
    assert page.count("Derbyshire Victim Services can support") == 1  # the refused text got no answer
