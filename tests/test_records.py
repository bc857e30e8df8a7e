"""`flask texter show|forget NUMBER`: one texter's records for an access or erasure request."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from gateway.console import audit
from gateway.phone import mask
from gateway.relay import cases
from gateway.texts import languages, msglog, optouts, records
from tests.conftest import CONTROL_ROOM, RELAY_LINE, SHORT_CODE, TEXTER, inbound_form, post_signed
from tests.keyword_files import POLISH

OTHER = "+447911000456"
KNIFE = "Man with a knife outside flat 3 Park Road"
ON_THE_WAY = "Officers are on their way. Stay inside."


@pytest.fixture
def config(config: dict[str, Any], tmp_path) -> dict[str, Any]:
    """The service with a second language a texter can pick, and the relay line."""
    path = tmp_path / "keywords.yaml"
    path.write_text(POLISH)
    return {**config, "KEYWORDS_FILE": str(path)}


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def settings(app):
    return app.extensions["signpost"].settings


@pytest.fixture
def text(client, run_jobs):
    """text(body, texter=TEXTER, to=SHORT_CODE): a signed webhook, then the workers run."""

    def send(body: str, texter: str = TEXTER, to: str = SHORT_CODE) -> None:
        response = post_signed(client, "/sms", inbound_form(body, texter=texter, to=to))
        assert response.status_code == 200
        run_jobs()

    return send


def relay_case(text, r, texter: str, close: bool = True) -> cases.Case:
    """A relay case of `texter` answered by the control room, and closed unless `close` is False."""
    text(KNIFE, texter=texter, to=RELAY_LINE)
    (case,) = [case for case in cases.open_cases(r) if case.texter == texter]
    text(f"R {case.id} {ON_THE_WAY}", texter=CONTROL_ROOM[0], to=RELAY_LINE)
    if close:
        text(f"CLOSE {case.id}", texter=CONTROL_ROOM[0], to=RELAY_LINE)
    return cases.get(r, case.id)


def everything(text, r, texter: str) -> cases.Case:
    """A texter with a record of every kind: keyword texts, a language pick, a closed case, an opt-out."""
    text("POLSKI", texter=texter)
    text("DVS", texter=texter)
    case = relay_case(text, r, texter)
    text("STOP", texter=texter)
    return case


def texts_to(standin, number: str) -> int:
    return sum(m["to"] == number for m in standin.messages)


# --- show ---------------------------------------------------------------------------------------------------


def test_show_lists_every_kind(runner, text, r, standin):
    case = everything(text, r, TEXTER)
    sent_in, sent_out = 4, texts_to(standin, TEXTER)  # POLSKI, DVS, the relay text, STOP; and our replies
    result = runner.invoke(args=["texter", "show", TEXTER, "--by", "alice"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Message log: {sent_in + sent_out} entries" in out
    assert out.count("direction=in") == sent_in and out.count("direction=out") == sent_out == 4
    assert "keyword=DVS" in out and f"number={mask(TEXTER)}" in out
    assert "Language: pl" in out
    assert "Opt-outs: 1 (never forgotten: kept to honour the texter's STOP)" in out
    assert f"from {SHORT_CODE}: since 20" in out and "(texted STOP)" in out
    assert "Relay cases: 1 (0 open, 1 closed)" in out and f"Case {case.id} on {RELAY_LINE}: closed" in out
    assert json.dumps(KNIFE) in out and json.dumps(ON_THE_WAY) in out  # the case thread holds full texts
    assert "Every kind of record holds something." in out


@pytest.mark.parametrize(("sent", "nothing"), [
    ([], "message log, language, opt-outs, relay cases"),
    (["DVS"], "language, opt-outs, relay cases"),
    (["POLSKI"], "opt-outs, relay cases"),
    (["STOP"], "language, relay cases"),
    ([("help me please", RELAY_LINE)], "language, opt-outs"),
])
def test_show_says_which_kinds_hold_nothing(runner, text, sent, nothing):
    for item in sent:
        body, to = item if isinstance(item, tuple) else (item, SHORT_CODE)
        text(body, to=to)
    result = runner.invoke(args=["texter", "show", TEXTER, "--by", "alice"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"Nothing held in: {nothing}"


@pytest.mark.parametrize("spelling", ["+447911000123", "07911 000123", "07911000123", " +44 7911 000123 "])
def test_show_takes_e164_and_uk_national_spellings(runner, text, spelling):
    text("POLSKI")
    result = runner.invoke(args=["texter", "show", spelling, "--by", "alice"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Records held for {TEXTER} ")
    assert "Language: pl" in result.output


def test_show_json_parses_with_iso_times(runner, text, r):
    case = everything(text, r, TEXTER)
    result = runner.invoke(args=["texter", "show", TEXTER, "--by", "alice", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["number"] == TEXTER and data["masked"] == mask(TEXTER)
    assert data["language"] == "pl"
    assert {e["direction"] for e in data["message_log"]} == {"in", "out"}
    assert [o["our_number"] for o in data["optouts"]] == [SHORT_CODE]
    (shown,) = data["relay_cases"]
    assert (shown["id"], shown["state"], shown["texter"]) == (case.id, "closed", TEXTER)
    assert [m["text"] for m in shown["messages"] if m["direction"] != "note"] == [KNIFE, ON_THE_WAY]
    assert data["nothing_held"] == []
    times = [e["at"] for e in data["message_log"]] + [shown["opened_at"], shown["closed_at"], data["optouts"][0]["at"]]
    assert all(datetime.fromisoformat(t).utcoffset().total_seconds() == 0 for t in times)


def test_outbound_entries_are_found_by_the_number_they_went_to(text, r, settings, standin):
    text("DVS")
    found = msglog.for_number(r, settings, TEXTER)
    assert [e["direction"] for e in found.values()] == ["in", "out"]
    assert msglog.for_number(r, settings, OTHER) == {}


# --- forget -------------------------------------------------------------------------------------------------


def test_forget_deletes_log_language_and_closed_cases_and_keeps_others(runner, text, r, settings, standin):
    case = everything(text, r, TEXTER)
    everything(text, r, OTHER)
    theirs = records.as_json(records.held(r, settings, OTHER))
    control_room = msglog.for_number(r, settings, CONTROL_ROOM[0])
    entries = records.held(r, settings, TEXTER).messages
    assert len(entries) == 8
    result = runner.invoke(args=["texter", "forget", TEXTER, "--by", "alice", "--yes"])
    assert result.exit_code == 0, result.output
    assert "deleted: message-log entries 8, language 1, closed relay cases 1; kept: opt-outs 1" in result.output
    assert "Opt-outs are kept (from 82228)" in result.output
    left = records.held(r, settings, TEXTER)
    assert (left.messages, left.language, left.cases) == ({}, None, [])
    for entry_id in entries:
        assert not r.exists(msglog.entry_key(entry_id)) and r.zscore(msglog.INDEX, entry_id) is None
    assert not r.exists(cases.case_key(case.id), cases.messages_key(case.id))
    assert r.zscore(cases.ALL_INDEX, case.id) is None
    assert not r.exists(languages.language_key(settings, TEXTER))
    assert records.as_json(records.held(r, settings, OTHER)) == theirs
    assert msglog.for_number(r, settings, CONTROL_ROOM[0]) == control_room


def test_forget_refuses_while_a_case_is_open_and_deletes_nothing(runner, text, r):
    text("POLSKI")
    closed = relay_case(text, r, TEXTER)
    still_open = relay_case(text, r, TEXTER, close=False)
    before = {key: r.dump(key) for key in r.scan_iter()}
    result = runner.invoke(args=["texter", "forget", TEXTER, "--by", "alice", "--yes"])
    assert result.exit_code == 1
    assert f"open relay case {still_open.id}" in result.output and "must close it first" in result.output
    assert closed.id not in result.output
    assert {key: r.dump(key) for key in r.scan_iter()} == before
    assert audit.recent(r, action="texter-forgotten") == []


def test_forget_keeps_the_optout_and_it_is_still_honoured(runner, text, r, standin):
    text("DVS")
    text("STOP")
    result = runner.invoke(args=["texter", "forget", TEXTER, "--by", "alice", "--yes"])
    assert result.exit_code == 0, result.output
    assert optouts.is_opted_out(r, SHORT_CODE, TEXTER)
    assert "Opt-outs: 1" in runner.invoke(args=["texter", "show", TEXTER, "--by", "alice"]).output
    standin.clear()
    text("DVS")
    assert texts_to(standin, TEXTER) == 0


def test_the_audit_line_names_who_and_only_the_masked_number(runner, text, r):
    everything(text, r, TEXTER)
    result = runner.invoke(args=["texter", "forget", "07911 000123", "--by", "alice", "--yes"])
    assert result.exit_code == 0, result.output
    (line,) = audit.recent(r, action="texter-forgotten")
    assert line["who"] == "cli:alice"
    assert line["detail"].startswith(f"{mask(TEXTER)}: deleted: message-log entries 8,")
    assert all(TEXTER[-9:] not in str(value) for entry in audit.recent(r) for value in entry.values())


def test_showing_a_texters_records_is_audited_with_the_masked_number(runner, text, r):
    everything(text, r, TEXTER)
    assert runner.invoke(args=["texter", "show", TEXTER]).exit_code == 2  # nobody looks without a name
    assert audit.recent(r, action="texter-shown") == []
    assert runner.invoke(args=["texter", "show", TEXTER, "--by", "bob", "--json"]).exit_code == 0
    (line,) = audit.recent(r, action="texter-shown")
    assert (line["who"], line["detail"]) == ("cli:bob", mask(TEXTER))


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("y\n", True)])
def test_forget_asks_first_without_yes(runner, text, r, settings, answer, deleted):
    text("POLSKI")
    result = runner.invoke(args=["texter", "forget", TEXTER, "--by", "alice"], input=answer)
    assert "Delete these records?" in result.output
    assert result.exit_code == (0 if deleted else 1)
    assert (languages.recall(r, settings, TEXTER) is None) == deleted
    assert len(audit.recent(r, action="texter-forgotten")) == int(deleted)


def test_forget_with_nothing_held_asks_nothing_and_is_audited(runner, r):
    result = runner.invoke(args=["texter", "forget", TEXTER, "--by", "alice"])
    assert result.exit_code == 0, result.output
    assert "Delete these records?" not in result.output
    assert "deleted: message-log entries 0, language 0, closed relay cases 0; kept: opt-outs 0" in result.output
    assert len(audit.recent(r, action="texter-forgotten")) == 1


# --- senders the service cannot answer, staff, and what is printed -----------------------------------------


@pytest.mark.parametrize("sender", ["+447700900123", "+4477009"])  # unallocated (drama range), cut off
def test_a_sender_that_could_not_be_answered_still_has_its_records_shown_and_forgotten(runner, text, r, sender):
    """Their texts were kept under the number as Twilio gave it: an access or erasure request must reach them."""
    text(KNIFE, texter=sender, to=RELAY_LINE)
    (case,) = cases.open_cases(r)
    text(f"CLOSE {case.id}", texter=CONTROL_ROOM[0], to=RELAY_LINE)
    shown = runner.invoke(args=["texter", "show", sender, "--by", "alice"])
    assert shown.exit_code == 0, shown.output
    assert KNIFE in shown.output and case.id in shown.output
    assert "cannot be answered by SMS" in shown.output
    forgotten = runner.invoke(args=["texter", "forget", sender, "--by", "alice", "--yes"])
    assert forgotten.exit_code == 0, forgotten.output
    assert cases.get(r, case.id) is None


def test_show_names_no_member_of_staff(runner, text, r):
    """The output answers the texter's request: control-room numbers and staff names are not theirs to see."""
    case = relay_case(text, r, TEXTER, close=False)
    cases.acknowledge(r, case.id, "console:olly")
    cases.add_outbound(r, case.id, "Stay on the line", "console:olly")
    for args in (["texter", "show", TEXTER, "--by", "alice"], ["texter", "show", TEXTER, "--by", "alice", "--json"]):
        output = runner.invoke(args=args).output
        assert ON_THE_WAY in output and "Stay on the line" in output
        assert CONTROL_ROOM[0] not in output and CONTROL_ROOM[0][-9:] not in output and "olly" not in output
        assert "control room" in output


def test_show_escapes_characters_that_act_on_a_terminal(runner, text, r):
    text("help \x9b2J \x1b[31m here", to=RELAY_LINE)
    output = runner.invoke(args=["texter", "show", TEXTER, "--by", "alice"]).output
    assert "\x9b" not in output and "\x1b" not in output and "help" in output


def test_forget_keeps_a_language_picked_after_it_looked(text, r, settings, monkeypatch):
    text("POLSKI")
    looked = records.held

    def held_then_a_new_pick(*args):
        found = looked(*args)
        languages.remember(r, settings, TEXTER, "en")  # the texter texts ENGLISH meanwhile
        return found

    monkeypatch.setattr(records, "held", held_then_a_new_pick)
    done = records.forget(r, settings, TEXTER)
    assert done.language == 0 and languages.recall(r, settings, TEXTER) == "en"


def test_forgetting_a_case_leaves_none_of_its_keys(text, r, settings):
    case = relay_case(text, r, TEXTER)
    r.set(cases.forward_failed_key(case.id), "1")
    records.forget(r, settings, TEXTER)
    assert list(r.scan_iter(match=f"signpost:*{case.id}*")) == []  # RQ's job records are RQ's: see the README


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["show", "--by", "alice"], ["forget", "--by", "alice", "--yes"]])
@pytest.mark.parametrize("number", ["junk", "82228", "VODAFONE", "", "0" * 200, "+44 7911 \x1b[2J"])
def test_a_bad_number_is_a_usage_error(runner, r, command, number):
    result = runner.invoke(args=["texter", *command[:1], number, *command[1:]])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "is not a phone number a texter could text from" in result.output
    assert "\x1b" not in result.output
    assert audit.recent(r) == []


@pytest.mark.parametrize("by", [None, "", "   ", "x" * 65])
def test_forget_needs_a_name_for_the_audit_log(runner, text, r, settings, by):
    text("POLSKI")
    result = runner.invoke(args=["texter", "forget", TEXTER, "--yes", *([] if by is None else ["--by", by])])
    assert result.exit_code == 2, result.output
    assert "--by" in result.output
    assert languages.recall(r, settings, TEXTER) == "pl"
