"""The keyword editor: drafts, per-field validation with the `keywords check` rules, preview, publish, restore."""

from __future__ import annotations

import re
from html import unescape

from gateway.console import audit, editor
from gateway.keywords import engine, problems, versions
from gateway.keywords.problems import Problem
from gateway.keywords.reader import parse_book
from gateway.runtime import signpost
from tests.conftest import ROOT, SHORT_CODE
from tests.console.support import REFERER, post, token

DVS = "/console/sets/main/keywords/DVS"
BOOT = (ROOT / "keywords.yaml").read_text()
GOOD = "Derbyshire Victim Services: call 0800 612 6505, any time. If you are in danger, call 999."


def dvs_form(**overrides) -> dict:
    form = {"name": "DVS", "aliases_en": "VICTIM, VICTIMS, SUPPORT", "reply_en": GOOD}
    form.update(overrides)
    return form


def draft_book(r):
    return parse_book(versions.get_draft(r).text)


def test_edit_goes_to_the_draft_not_live(signed_in, app, r):
    client = signed_in("editor", name="ed")
    response = post(client, DVS, dvs_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    draft = versions.get_draft(r)
    assert draft.by == "console:ed" and draft.base is None
    assert engine.decide(draft_book(r), "DVS", SHORT_CODE).reply == GOOD
    with app.app_context():
        assert engine.decide(signpost().book, "dvs", SHORT_CODE).reply != GOOD
    assert versions.live_number(r) is None
    assert audit.recent(r)[0]["action"] == "draft-edit"
    page = client.get("/console/keywords").get_data(as_text=True)
    assert "draft" in page and GOOD in page


def test_draft_keeps_key_order_and_the_format_guide(signed_in, r):
    client = signed_in("editor")
    post(client, DVS, dvs_form())
    text = versions.get_draft(r).text
    assert text.startswith("# ====")  # the leading comment block for staff is kept
    assert text.index("version:") < text.index("default_set:") < text.index("numbers:") < text.index("danger:")
    assert text.index("DVS:") < text.index("STALKING:") < text.index("POLICE:")


def test_refused_edits_say_why_per_field(signed_in, r):
    client = signed_in("editor")
    cases = [
        (dvs_form(reply_en="Call 0800 000 00 now."), "reply_en", "not a valid UK number"),
        (dvs_form(aliases_en="VICTIM, STOP"), "aliases_en", "reserved for opt-out"),
        (dvs_form(aliases_en="VICTIM, STALKER"), "aliases_en", "already used by"),
        (dvs_form(name="HELP"), "name", "reserved"),
        (dvs_form(name="TWO WORDS"), "name", "single word"),
        (dvs_form(reply_en="x " * 900), "reply_en", "SMS parts (max 10)"),
    ]
    for form, field, reason in cases:
        response = post(client, DVS, form)
        assert response.status_code == 400, form
        html = response.get_data(as_text=True)
        start = html.index(f'id="err-{field}"')
        assert reason in html[start:start + 600], (field, reason, html[start:start + 600])
        assert 'aria-invalid="true"' in html
    assert versions.get_draft(r) is None  # nothing was saved


def test_keyword_collision_on_create_is_refused(signed_in, r):
    client = signed_in("editor")
    response = post(client, "/console/sets/main/keywords/new", {"name": "dvs", "reply_en": GOOD})
    assert response.status_code == 400
    assert "DVS already exists" in response.get_data(as_text=True)
    response = post(client, "/console/sets/main/keywords/new", {"name": "VICTIM", "reply_en": GOOD})
    assert response.status_code == 400
    assert "already used by" in response.get_data(as_text=True)


def test_default_and_help_must_mention_999(signed_in, r):
    client = signed_in("editor")
    form = {"default_en": "Text DVS, STALKING, CRIMESTOPPERS, DEAF or POLICE.", "help_en": "Text DVS. Call 999."}
    response = post(client, "/console/sets/main/texts", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "must tell people in danger to call 999" in html[html.index('id="err-default_en"'):]
    form["default_en"] += " If you are in danger, call 999."
    assert post(client, "/console/sets/main/texts", form).status_code == 302
    book = draft_book(r)
    assert book.sets["main"].help["en"] == "Text DVS. Call 999."
    assert book.sets["main"].optout_reply is None  # left empty: optional replies are removed


def test_create_and_delete_keyword_and_aliases(signed_in, r):
    client = signed_in("editor")
    form = {"name": "scam", "aliases_en": "FRAUD, SCAMMED",
            "reply_en": "Report fraud to Action Fraud on 0300 123 2040. If you are in danger, call 999."}
    assert post(client, "/console/sets/main/keywords/new", form).status_code == 302
    decision = engine.decide(draft_book(r), "fraud", SHORT_CODE)
    assert decision.keyword == "SCAM" and decision.match == "alias"
    assert post(client, "/console/sets/main/keywords/SCAM/delete").status_code == 302
    assert "SCAM" not in draft_book(r).sets["main"].keywords


def test_rename_keeps_position(signed_in, r):
    client = signed_in("editor")
    assert post(client, DVS, dvs_form(name="VS")).status_code == 302
    names = list(draft_book(r).sets["main"].keywords)
    assert names[0] == "VS" and "DVS" not in names


def test_danger_phrases_and_relay_ack(signed_in, r):
    client = signed_in("editor")
    page = client.get("/console/danger").get_data(as_text=True)
    assert "kill*" in page
    reply = "If you are in danger, call 999 now. Deaf: text 07800 002414."
    form = {"phrases_": "help me\nstalker outside\n", "reply_": reply}
    assert post(client, "/console/danger", form).status_code == 302
    book = draft_book(r)
    assert [p.text for p in book.danger_phrases] == ["help me", "stalker outside"]
    assert engine.decide(book, "DVS stalker outside now", SHORT_CODE).danger
    response = post(client, "/console/danger", {"phrases_": "", "reply_": reply})
    assert response.status_code == 400 and "needs at least one phrase" in response.get_data(as_text=True)
    ack_url = "/console/numbers/+447800002414/relay-ack"
    response = post(client, ack_url, {"ack_en": "Your message reached the control room."})
    assert response.status_code == 400 and "call 999" in response.get_data(as_text=True)
    ack = "Your message reached the control room. If you are in danger, call 999."
    assert post(client, ack_url, {"ack_en": ack}).status_code == 302
    assert draft_book(r).relay_ack("+447800002414") == ack


RELAY_URL = "/console/numbers/+447800002414/relay-ack"
ACK = ("Your message has reached the Derbyshire Police control room. Keep this thread open so we can reply to you. "
       "For a BSL video call use 999bsl.co.uk. If you are in danger, call 999.")
UNREAD = "Case {id}: nobody has read your text yet, we are still trying. In danger? 999bsl.co.uk or text 999."
FAILED = "Your text did not reach the control room. In danger call 999 or use 999bsl.co.uk."


def test_relay_page_edits_the_texters_messages_into_the_draft(signed_in, r):
    client = signed_in("editor")
    keywords_page = client.get("/console/keywords").get_data(as_text=True)
    assert f'href="{RELAY_URL}">Edit texter messages</a>' in keywords_page
    page = client.get(RELAY_URL).get_data(as_text=True)
    for name in ("ack_en", "unread_en", "failed_en"):  # each with its live SMS preview
        assert f'id="f-{name}" name="{name}"' in page and f'data-preview-for="f-{name}"' in page
    assert "data-preview-case-id" in page[page.index('id="f-unread_en"'):page.index('id="f-failed_en"')]
    assert unescape(page).count("has not been read yet") == 1  # the shipped wording, there to edit
    assert post(client, RELAY_URL, {"ack_en": ACK, "unread_en": UNREAD, "failed_en": FAILED}).status_code == 302
    book = draft_book(r)
    assert book.relay_text("+447800002414", "unread") == UNREAD
    assert book.relay_text("+447800002414", "failed") == FAILED
    assert book.relay_ack("+447800002414") == ACK
    config = book.number_config("+447800002414")
    assert (config.kind, config.rate_per_second, config.relay) == ("long_code", 10, True)  # kept
    assert audit.recent(r)[0]["action"] == "draft-edit"
    # Emptied: the field leaves the file and the built-in text is sent.
    assert post(client, RELAY_URL, {"ack_en": ACK, "unread_en": "", "failed_en": FAILED}).status_code == 302
    assert draft_book(r).relay_text("+447800002414", "unread") is None
    assert "relay_unread" not in versions.load_structure(versions.get_draft(r).text)["numbers"]["+447800002414"]
    assert '"Not read yet" text: built-in' in client.get("/console/keywords").get_data(as_text=True)


def test_relay_page_refuses_each_text_on_its_own_field(signed_in, r):
    client = signed_in("editor")
    cases = [
        ({"unread_en": "Case {id}: not read yet."}, "unread_en", "must tell people in danger to call 999"),
        ({"unread_en": "Case {ref}: not read yet. In danger, call 999."}, "unread_en",
         "{ref} is not known and would be sent as written: the only placeholder here is {id}, the case id"),
        ({"unread_en": "Case {id}. Call 999. " + "x " * 800}, "unread_en", "SMS parts (max 10)"),
        ({"failed_en": "We could not pass it on."}, "failed_en", "must tell people in danger to call 999"),
        ({"failed_en": "Case {id} failed. In danger, call 999."}, "failed_en",
         "{id} is not known and would be sent as written: this text takes none"),
        ({"ack_en": "Your message reached the control room."}, "ack_en", "must tell people in danger to call 999"),
    ]
    for changed, field, reason in cases:
        form = {"ack_en": ACK, "unread_en": UNREAD, "failed_en": FAILED, **changed}
        response = post(client, RELAY_URL, form)
        assert response.status_code == 400, changed
        html = unescape(response.get_data(as_text=True))
        start = html.index(f'id="err-{field}"')
        assert reason in html[start:start + 600], (field, reason, html[start:start + 600])
        others = {"ack_en", "unread_en", "failed_en"} - {field}
        assert not any(f'id="err-{other}"' in html for other in others), (field, html)
        assert changed[field] in html  # what was typed is kept for correcting
    assert versions.get_draft(r) is None


def test_relay_page_keeps_other_languages_and_fields_of_the_number(signed_in, r):
    client = signed_in("editor")
    text = BOOT.replace("    relay_ack: >-\n", '    relay_unread: {en: "Case {id}: not read. Call 999.", '
                                                 'cy: "Achos {id}: heb ei ddarllen. Ffoniwch 999."}\n'
                                                 "    relay_ack: >-\n", 1)
    text = text.replace(text[text.index("    # Sent once if nobody"):text.index("    # Sent if the text could")], "")
    versions.save_draft(r, text, None, "console:ed")
    page = client.get(RELAY_URL).get_data(as_text=True)
    assert 'name="unread_cy"' in page and 'name="ack_cy"' in page and 'name="failed_cy"' in page
    form = {"ack_en": ACK, "unread_en": UNREAD, "unread_cy": "Achos {id}: dim eto. Ffoniwch 999.",
            "failed_en": FAILED}
    assert post(client, RELAY_URL, form).status_code == 302
    book = draft_book(r)
    assert book.relay_text("+447800002414", "unread", "cy") == "Achos {id}: dim eto. Ffoniwch 999."
    assert book.relay_text("+447800002414", "failed", "cy") == FAILED  # none in cy: the set's language


def test_preview_api_counts_a_case_id_in_place_of_id(signed_in):
    client = signed_in("editor")
    headers = {**REFERER, "X-CSRFToken": token(client)}
    text = "Case {id}: \u0142" + "a" * 58  # 70 UCS-2 units as written: one part; 72 with a case id: two
    facts = client.post("/console/api/preview", json={"text": text, "case_id": True}, headers=headers).get_json()
    assert facts["segments"] == 2 and facts["chars"] == 72
    assert facts["case_id"] == text.replace("{id}", "KQDXHM")
    plain = client.post("/console/api/preview", json={"text": text}, headers=headers).get_json()
    assert plain["segments"] == 1


def test_preview_api(signed_in):
    client = signed_in("editor")
    headers = {**REFERER, "X-CSRFToken": token(client)}
    plain = client.post("/console/api/preview", json={"text": "Call 101. " * 17}, headers=headers).get_json()
    assert plain["encoding"] == "GSM-7" and plain["chars"] == 170 and plain["segments"] == 2
    curly = client.post("/console/api/preview", json={"text": "It\u2019s \u201cok\u201d \u2013 call 999\u2026"},
                        headers=headers).get_json()
    assert curly["encoding"] == "UCS-2" and curly["segments"] == 1
    assert [(c["char"], c["fix"]) for c in curly["non_gsm"]] == [
        ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2013", "-"), ("\u2026", "...")]
    assert curly["fixed"] == "It's \"ok\" - call 999..."
    long_ucs2 = client.post("/console/api/preview", json={"text": "\u2019" + "a" * 80}, headers=headers).get_json()
    assert long_ucs2["segments"] == 2 and long_ucs2["per_part"] == 67
    bad = client.post("/console/api/preview", json={"text": "Call +44 12"}, headers=headers).get_json()
    assert bad["bad_numbers"]


def test_publish_draft_and_restore(signed_in, app, r):
    client = signed_in("editor", name="ed")
    post(client, DVS, dvs_form())
    page = client.get("/console/draft").get_data(as_text=True)
    assert "Derbyshire Victim Services: call 0800 612 6505" in page  # the diff
    response = post(client, "/console/draft/publish", {"message": ""})
    assert versions.live_number(r) is None  # a message is required
    response = post(client, "/console/draft/publish", {"message": "shorter DVS reply"})
    assert response.status_code == 302
    assert versions.live_number(r) == 1 and versions.get_draft(r) is None
    v1 = versions.get(r, 1)
    assert v1.author == "console:ed" and v1.message == "shorter DVS reply" and GOOD in v1.diff
    with app.app_context():
        assert engine.decide(signpost().book, "DVS", SHORT_CODE).reply == GOOD
    page = client.get("/console/versions/1").get_data(as_text=True)
    assert "shorter DVS reply" in page and "console:ed" in page
    assert client.get("/console/versions/1.yaml").get_data(as_text=True) == v1.text
    # Restore keywords.yaml's text? Publish another, then restore version 1 in one step.
    post(client, DVS, dvs_form(reply_en=GOOD.replace("any time", "day or night")))
    post(client, "/console/draft/publish", {"message": "v2"})
    assert post(client, "/console/versions/1/restore").status_code == 302
    assert versions.live_number(r) == 3 and versions.get(r, 3).restored_from == 1
    with app.app_context():
        signpost().live.expire()  # as if its once-a-second check were due
        assert engine.decide(signpost().book, "DVS", SHORT_CODE).reply == GOOD
    actions = [e["action"] for e in audit.recent(r)]
    assert "published" in actions and "restored" in actions


def test_stale_draft_is_not_published_over_a_newer_version(signed_in, r):
    client = signed_in("editor")
    post(client, DVS, dvs_form())
    versions.publish(r, parse_book(versions.get_draft(r).text).source_text, "cli", "someone else", "")
    response = post(client, "/console/draft/publish", {"message": "mine"}, follow_redirects=True)
    assert "was published after this draft was started" in response.get_data(as_text=True)
    assert versions.live_number(r) == 1
    post(client, "/console/draft/discard")
    assert versions.get_draft(r) is None


def test_keywords_page_shows_who_answers_stop_start_help(signed_in, r):
    client = signed_in("editor")
    page = client.get("/console/keywords").get_data(as_text=True)
    rows = {number: page.split(f"<td>{number}</td>")[1].split("</tr>")[0] for number in ("82228", "+447800002414")}
    assert "answered by signpost" in rows["82228"] and "confirmations: gateway (default for a short code)" in rows[
        "82228"]
    assert "STOP and START answered by Twilio" in rows["+447800002414"]
    assert "confirmations: twilio (default for a long code)" in rows["+447800002414"]
    text = (ROOT / "keywords.yaml").read_text().replace("    kind: short_code\n",
                                                       "    kind: short_code\n    confirmations: twilio\n", 1)
    versions.publish(r, text, "test", "Twilio's Advanced Opt-Out on the short code")
    page = client.get("/console/keywords").get_data(as_text=True)
    row = page.split("<td>82228</td>")[1].split("</tr>")[0]
    assert "STOP and START answered by Twilio" in row and "confirmations: twilio</span>" in row


def shown_errors(html: str) -> tuple[dict[str, list[str]], list[str]]:
    """({field: its refusals}, the general refusals at the top of the form) as the page shows them."""
    fields = {name: [unescape(li) for li in re.findall(r"<li>Refused: (.*?)</li>", items, re.S)]
              for name, items in re.findall(r'<ul class="errors" id="err-([^"]+)">(.*?)</ul>', html, re.S)}
    block = re.search(r'<div class="flash error" role="alert">(.*?)</div>', html, re.S)
    general = [unescape(li) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)] if block else []
    return fields, general


PLACED = [
    # (form, field, what the field shows): each problem is placed by its code, entry and args
    (dvs_form(aliases_en="VICTIM, STALKER"), "aliases_en", "'STALKER' is already used by keyword STALKING"),
    (dvs_form(name="stalker"), "name", "'STALKER' is already used by keyword STALKING"),
    (dvs_form(reply_en="Call 0800 000 00 now. " + GOOD), "reply_en",
     "phone number '0800 000 00' is not a valid UK number"),
]


def test_collisions_and_bad_numbers_are_shown_on_their_field(signed_in, r):
    client = signed_in("editor")
    for form, field, shown in PLACED:
        response = post(client, DVS, form)
        assert response.status_code == 400, form
        assert shown_errors(response.get_data(as_text=True)) == ({field: [shown]}, []), form
    assert versions.get_draft(r) is None


def test_problems_are_placed_by_code_not_by_wording(signed_in, monkeypatch):
    monkeypatch.setitem(problems.REFUSALS, "word_taken", lambda **args: "reworded collision")
    monkeypatch.setitem(problems.REFUSALS, "bad_phone_number", lambda number: f"reworded: {number}")
    client = signed_in("editor")
    expected = [({"aliases_en": ["'STALKER' is already used by keyword STALKING"]}, []),
                ({"name": ["'STALKER' is already used by keyword STALKING"]}, []),
                ({"reply_en": ["reworded: 0800 000 00"]}, [])]
    for (form, _, _), shown in zip(PLACED, expected, strict=True):
        assert shown_errors(post(client, DVS, form).get_data(as_text=True)) == shown, form


def test_assign_places_by_entry_then_by_the_placer():
    fields = {"name": ("sets.main.keywords.DVS", True), "reply_en": ("sets.main.keywords.DVS.reply", False),
              "aliases_en": ("sets.main.keywords.DVS.aliases", False)}
    taken = Problem("draft", 30, "sets.main.keywords.STALKING.aliases[0]", "word_taken",
                    {"word": "STALKER", "keyword": "DVS", "match": "alias", "line": 17, "claimant": "STALKING"})
    phone = Problem("draft", 18, "sets.main.keywords.DVS.reply", "bad_phone_number", {"number": "0800 000 00"})
    other = Problem("draft", 4, "numbers.82228.rate_per_second", "not_a_number")
    place = editor._collisions("DVS", {"en": ["VICTIM", "stalker"]}, "en")
    assert editor.assign([taken, phone, other], fields, place) == (
        {"aliases_en": ["'STALKER' is already used by keyword STALKING"],
         "reply_en": ["phone number '0800 000 00' is not a valid UK number"]},
        ["numbers.82228.rate_per_second: must be a number"])
    # Without the placer, or for another keyword's word, the collision stays in the general list.
    general = ["sets.main.keywords.STALKING.aliases[0]: 'STALKER' is already used by an alias of DVS (line 17)"]
    assert editor.assign([taken], fields)[1] == general
    assert editor.assign([taken], fields, editor._collisions("POLICE", {}, "en"))[1] == general


READ = "Case {id}: a call handler has read your text. Keep this thread open. In danger? Call 999."


def test_relay_page_edits_the_read_receipt_into_the_draft(signed_in, r):
    client = signed_in("editor")
    assert '"Read by the control room" text: in the keywords' in client.get("/console/keywords").get_data(
        as_text=True)
    page = client.get(RELAY_URL).get_data(as_text=True)
    assert 'id="f-read_en" name="read_en"' in page and 'data-preview-for="f-read_en"' in page
    assert "data-preview-case-id" in page[page.index('id="f-read_en"'):]
    assert unescape(page).count("someone in the control room has read your message") == 1  # shipped wording
    form = {"ack_en": ACK, "unread_en": UNREAD, "failed_en": FAILED}
    assert post(client, RELAY_URL, {**form, "read_en": READ}).status_code == 302
    book = draft_book(r)
    assert book.relay_text("+447800002414", "read") == READ
    assert book.relay_text("+447800002414", "unread") == UNREAD  # the others kept
    for bad, reason in (("Case {id}: read.", "must tell people in danger to call 999"),
                        ("Case {ref}: read. In danger, call 999.",
                         "{ref} is not known and would be sent as written: the only placeholder here is {id}")):
        response = post(client, RELAY_URL, {**form, "read_en": bad})
        assert response.status_code == 400, bad
        html = unescape(response.get_data(as_text=True))
        start = html.index('id="err-read_en"')
        assert reason in html[start:start + 600], (bad, html[start:start + 600])
    assert draft_book(r).relay_text("+447800002414", "read") == READ  # refused edits left the draft alone
    # Emptied: the field leaves the file and the built-in text is sent.
    assert post(client, RELAY_URL, {**form, "read_en": ""}).status_code == 302
    assert draft_book(r).relay_text("+447800002414", "read") is None
    assert "relay_read" not in versions.load_structure(versions.get_draft(r).text)["numbers"]["+447800002414"]
    assert '"Read by the control room" text: built-in' in client.get("/console/keywords").get_data(as_text=True)
