"""Opening hours in keywords.yaml: how the reader checks them and which reply the engine gives at a moment."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from gateway import create_app, sending
from gateway.keywords import hours, sms
from gateway.keywords.engine import decide
from gateway.keywords.reader import parse_book
from gateway.texts import webhook
from tests.conftest import ROOT, inbound_form, post_signed
from tests.keyword_files import BASE, HOURS, line_of, mutate, only_refusal, refusals, with_opening_hours

SHORT_CODE = "82228"
OPEN = "Stalking Helpline: 0808 802 0300."
CLOSED = "Stalking Helpline: 0808 802 0300, opens {opens}. In danger, call 999."


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def closed_saying(opens: str) -> str:
    return CLOSED.replace("{opens}", opens)


@pytest.fixture(scope="module")
def book():
    return parse_book(HOURS)


# --- the engine at a moment ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("at", "reply"), [
    # Monday 30 November 2026 (GMT): 09:29:59 closed, 09:30 open, 15:59:59 open, 16:00 closed.
    (utc(2026, 11, 30, 9, 29, 59), closed_saying("today at 9:30am")),
    (utc(2026, 11, 30, 9, 30), OPEN),
    (utc(2026, 11, 30, 15, 59, 59), OPEN),
    (utc(2026, 11, 30, 16, 0), closed_saying("tomorrow at 9:30am")),
    # Wednesday opens at 1pm.
    (utc(2026, 12, 2, 12, 59, 59), closed_saying("today at 1pm")),
    (utc(2026, 12, 2, 13, 0), OPEN),
    # 2am on a Saturday, and Friday evening: the next opening is across the weekend.
    (utc(2026, 11, 28, 2, 0), closed_saying("on Monday 30 November at 9:30am")),
    (utc(2026, 11, 27, 16, 0), closed_saying("on Monday 30 November at 9:30am")),
    # Summer (BST): 09:30 in London is 08:30 UTC.
    (utc(2026, 6, 1, 8, 29, 59), closed_saying("today at 9:30am")),
    (utc(2026, 6, 1, 8, 30), OPEN),
    (utc(2026, 6, 1, 14, 59, 59), OPEN),
    (utc(2026, 6, 1, 15, 0), closed_saying("tomorrow at 9:30am")),
])
def test_each_side_of_every_boundary(book, at, reply):
    decision = decide(book, "stalking", SHORT_CODE, at=at)
    assert decision.reply == reply
    assert decision.open is (reply == OPEN)


@pytest.mark.parametrize(("at", "reply"), [
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026: Friday is GMT, Monday BST.
    (utc(2026, 3, 27, 9, 29, 59), closed_saying("today at 9:30am")),
    (utc(2026, 3, 27, 9, 30), OPEN),
    (utc(2026, 3, 27, 16, 0), closed_saying("on Monday 30 March at 9:30am")),
    (utc(2026, 3, 29, 0, 59), closed_saying("tomorrow at 9:30am")),  # 00:59 GMT
    (utc(2026, 3, 29, 1, 0), closed_saying("tomorrow at 9:30am")),  # 02:00 BST
    (utc(2026, 3, 30, 8, 29, 59), closed_saying("today at 9:30am")),
    (utc(2026, 3, 30, 8, 30), OPEN),
    (utc(2026, 3, 30, 14, 59, 59), OPEN),
    (utc(2026, 3, 30, 15, 0), closed_saying("tomorrow at 9:30am")),
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026: Friday is BST, Monday GMT.
    (utc(2026, 10, 23, 8, 29, 59), closed_saying("today at 9:30am")),
    (utc(2026, 10, 23, 8, 30), OPEN),
    (utc(2026, 10, 23, 15, 0), closed_saying("on Monday 26 October at 9:30am")),
    (utc(2026, 10, 25, 0, 30), closed_saying("tomorrow at 9:30am")),  # 01:30 BST
    (utc(2026, 10, 25, 1, 30), closed_saying("tomorrow at 9:30am")),  # 01:30 GMT, the hour again
    (utc(2026, 10, 26, 8, 30), closed_saying("today at 9:30am")),  # 08:30 GMT: an hour early in summer time
    (utc(2026, 10, 26, 9, 29, 59), closed_saying("today at 9:30am")),
    (utc(2026, 10, 26, 9, 30), OPEN),
    (utc(2026, 10, 26, 15, 59, 59), OPEN),
    (utc(2026, 10, 26, 16, 0), closed_saying("tomorrow at 9:30am")),
])
def test_the_clock_changes(book, at, reply):
    assert decide(book, "stalking", SHORT_CODE, at=at).reply == reply


@pytest.mark.parametrize(("at", "reply"), [
    # Christmas 2026: Friday 25 and Monday 28 (Boxing Day's substitute) are bank holidays.
    (utc(2026, 12, 24, 15, 59, 59), OPEN),
    (utc(2026, 12, 24, 16, 0), closed_saying("on Tuesday 29 December at 9:30am")),
    (utc(2026, 12, 25, 10, 0), closed_saying("on Tuesday 29 December at 9:30am")),
    (utc(2026, 12, 28, 10, 0), closed_saying("tomorrow at 9:30am")),
    (utc(2026, 12, 29, 9, 30), OPEN),
    # Early May bank holiday, Monday 4 May 2026 (BST).
    (utc(2026, 5, 1, 15, 0), closed_saying("on Tuesday 5 May at 9:30am")),
    (utc(2026, 5, 4, 10, 0), closed_saying("tomorrow at 9:30am")),
])
def test_bank_holidays_are_closed(book, at, reply):
    assert decide(book, "stalking", SHORT_CODE, at=at).reply == reply


def test_bank_holidays_open_when_the_file_says_so():
    opened = parse_book(mutate("          friday: 09:30-16:00\n",
                               "          friday: 09:30-16:00\n          bank_holidays: open\n", HOURS))
    assert decide(opened, "stalking", SHORT_CODE, at=utc(2026, 12, 28, 10, 0)).reply == OPEN
    assert decide(opened, "stalking", SHORT_CODE, at=utc(2026, 12, 26, 10, 0)).open is False  # a Saturday


def test_the_decision_says_open_closed_and_the_next_opening(book):
    closed = decide(book, "stalker", SHORT_CODE, at=utc(2026, 11, 28, 3, 0))
    assert (closed.kind, closed.keyword, closed.match) == ("keyword", "STALKING", "alias")
    assert closed.open is False and closed.opens == utc(2026, 11, 30, 9, 30)
    opened = decide(book, "stalking", SHORT_CODE, at=utc(2026, 11, 30, 10, 0))
    assert opened.open is True and opened.opens is None


def test_without_a_moment_or_without_hours_replies_as_before(book):
    assert decide(book, "stalking", SHORT_CODE).reply == OPEN
    assert decide(book, "stalking", SHORT_CODE).open is None
    night = utc(2026, 11, 28, 3, 0)
    dvs = decide(book, "dvs", SHORT_CODE, at=night)
    assert dvs.reply == "Victim Services: call 0800 612 6505." and dvs.open is None
    assert decide(book, "nothing", SHORT_CODE, at=night).reply == decide(book, "nothing", SHORT_CODE).reply
    assert decide(book, "HELP", SHORT_CODE, at=night).kind == "help"


def test_hours_that_fail_answer_with_the_reply(book, monkeypatch, caplog):
    def broken(self, at):
        raise RuntimeError("no calendar")

    monkeypatch.setattr(hours.Hours, "is_open", broken)
    decision = decide(book, "stalking knife", SHORT_CODE, at=utc(2026, 11, 28, 3, 0))
    assert decision.kind == "keyword" and decision.reply.endswith("\n\n" + OPEN) and decision.open is None
    assert "opening hours of STALKING failed" in caplog.text


def test_a_naive_moment_is_london_time(book):
    summer = datetime(2026, 6, 1, 9, 30)  # 08:30 UTC
    assert decide(book, "stalking", SHORT_CODE, at=summer).reply == OPEN
    assert decide(book, "stalking", SHORT_CODE, at=datetime(2026, 6, 1, 9, 29)).open is False


def test_danger_preamble_comes_before_the_closed_reply(book):
    decision = decide(book, "stalking he's outside", SHORT_CODE, at=utc(2026, 11, 28, 3, 0))
    assert decision.danger and decision.open is False
    assert decision.reply == ("In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk.\n\n"
                              + closed_saying("on Monday 30 November at 9:30am"))


WELSH_HOURS = mutate(
    f"""        reply: "{OPEN}"
        hours:""",
    f"""        aliases:
          en: [STALKER]
          cy: [STelcian]
        reply:
          en: "{OPEN}"
          cy: "Llinell Gymorth Stelcian: 0808 802 0300."
        hours:""",
    mutate("        aliases: [STALKER]\n", "", HOURS),
).replace(f'        closed_reply: "{CLOSED}"\n', f"""        closed_reply:
          en: "{CLOSED}"
          cy: "Llinell Gymorth Stelcian: 0808 802 0300, ar agor {{opens}}. Mewn perygl, ffoniwch 999."
""")


def test_closed_replies_by_language():
    welsh = parse_book(WELSH_HOURS)
    at = utc(2026, 11, 28, 3, 0)
    cy = decide(welsh, "stelcian", SHORT_CODE, at=at)
    assert cy.language == "cy"
    assert cy.reply == "Llinell Gymorth Stelcian: 0808 802 0300, ar agor 30/11 09:30. Mewn perygl, ffoniwch 999."
    assert decide(welsh, "stalker", SHORT_CODE, at=at).reply == closed_saying("on Monday 30 November at 9:30am")
    assert decide(welsh, "stelcian", SHORT_CODE, at=utc(2026, 11, 30, 10, 0)).reply.startswith("Llinell Gymorth")


# --- the shipped file ------------------------------------------------------------------------------------------

def test_shipped_file_keeps_hours_off():
    shipped = parse_book((ROOT / "keywords.yaml").read_text())
    assert all(k.hours is None for k in shipped.sets["main"].keywords.values())
    assert decide(shipped, "stalking", SHORT_CODE, at=utc(2026, 11, 28, 3, 0)).open is None


@pytest.mark.parametrize(("at", "is_open", "says"), [
    (utc(2026, 11, 28, 3, 0), False, "opens on Monday 30 November at 9:30am"),
    (utc(2026, 11, 30, 9, 29, 59), False, "opens today at 9:30am"),
    (utc(2026, 11, 30, 9, 30), True, "for practical support"),
    (utc(2026, 11, 30, 15, 59, 59), True, "for practical support"),
    (utc(2026, 11, 30, 16, 0), False, "opens tomorrow at 9:30am"),
    (utc(2026, 12, 1, 16, 0), False, "opens tomorrow at 1pm"),  # Tuesday evening: Wednesday from 1pm
    (utc(2026, 12, 2, 12, 59, 59), False, "opens today at 1pm"),
    (utc(2026, 12, 2, 13, 0), True, "for practical support"),
    (utc(2026, 12, 24, 16, 0), False, "opens on Tuesday 29 December at 9:30am"),
])
def test_shipped_example_once_uncommented(at, is_open, says):
    book = parse_book(with_opening_hours((ROOT / "keywords.yaml").read_text()))
    assert book.warnings == ()
    stalking = book.sets["main"].keywords["STALKING"]
    assert hours.summary(stalking.hours) == ("Mon 09:30-16:00 · Tue 09:30-16:00 · Wed 13:00-16:00 · "
                                             "Thu 09:30-16:00 · Fri 09:30-16:00 · bank holidays closed")
    decision = decide(book, "stalking", SHORT_CODE, at=at)
    assert decision.open is is_open
    assert says in decision.reply and "call 999" in decision.reply and "0808 802 0300" in decision.reply


# --- the reader ------------------------------------------------------------------------------------------------

WHERE = "sets.main.keywords.STALKING"
HOURS_BLOCK = HOURS[HOURS.index("        hours:\n"):HOURS.index("        closed_reply:")]


REFUSED = [
    ("          monday: 09:30-16:00\n", "          monday: 9-5\n", "monday: 9-5", f"{WHERE}.hours.monday",
     "bad_hours", "'9-5' is not a time range like 09:30-16:00"),
    ("          monday: 09:30-16:00\n", "          monday: 16:00-09:30\n", "monday: 16", f"{WHERE}.hours.monday",
     "bad_hours", "closes before it opens"),
    ("          monday: 09:30-16:00\n", "          monday: 09:30-25:00\n", "monday: 09", f"{WHERE}.hours.monday",
     "bad_hours", "does not exist"),
    ("          monday: 09:30-16:00\n", "          monday: [09:00-13:00, 12:00-16:00]\n", "monday: [",
     f"{WHERE}.hours.monday", "bad_hours", "overlap"),
    ("          monday: 09:30-16:00\n", "          monday: []\n", "monday: []", f"{WHERE}.hours.monday",
     "needs_one", "needs at least one time range"),
    ("          monday: 09:30-16:00\n", "          monday:\n", "monday:", f"{WHERE}.hours.monday", "empty",
     "is empty"),
    ("          monday: 09:30-16:00\n", "          mon: 09:30-16:00\n", "mon:", f"{WHERE}.hours.mon",
     "unknown_field", "unknown field 'mon' (expected one of: monday, tuesday"),
    ("          friday: 09:30-16:00\n", "          friday: 09:30-16:00\n          bank_holidays: shut\n",
     "bank_holidays", f"{WHERE}.hours.bank_holidays", "not_a_choice", "'shut' must be closed or open"),
    (HOURS_BLOCK, "        hours: weekdays 9:30am-4pm\n", "hours:", f"{WHERE}.hours", "not_a_mapping",
     "must be a mapping"),
    (f'        closed_reply: "{CLOSED}"\n', "", "hours:", f"{WHERE}.closed_reply", "missing_field",
     "missing field 'closed_reply' (the reply sent while the service is closed)"),
    (f'        closed_reply: "{CLOSED}"\n', '        closed_reply: "Closed now. In danger, call 999."\n',
     "closed_reply", f"{WHERE}.closed_reply", "needs_opens", "put {opens} where the time goes"),
    (f'        closed_reply: "{CLOSED}"\n', '        closed_reply: "Closed, opens {opens}. Call 101."\n',
     "closed_reply", f"{WHERE}.closed_reply", "needs_999", "must tell people in danger to call 999"),
    (f'        closed_reply: "{CLOSED}"\n', '        closed_reply: "Opens {open}, {opens}. In danger, call 999."\n',
     "closed_reply", f"{WHERE}.closed_reply", "unknown_placeholder", "{open} is not known"),
    (f'        closed_reply: "{CLOSED}"\n', '        closed_reply: "Opens {opens}. Call 0800 000 00. 999."\n',
     "closed_reply", f"{WHERE}.closed_reply", "bad_phone_number", "is not a valid UK number"),
    (f'        closed_reply: "{CLOSED}"\n',
     f'        closed_reply: "{"Closed. " * 186}Opens {{opens}}. In danger, call 999."\n',
     "closed_reply", f"{WHERE}.closed_reply", "too_many_segments", "11 SMS parts (max 10)"),
    (f'        reply: "{OPEN}"\n', '        reply: "Helpline: 0808 802 0300, opens {opens}."\n', 'reply: "Help',
     f"{WHERE}.reply", "opens_only_when_closed", "{opens} only works in a closed_reply"),
]
# The reader's codes these tests produce (tests/test_reader.py checks every code is tested somewhere).
CODES = {case[4] for case in REFUSED} | {"never_open", "closed_without_hours", "closed_languages"}


@pytest.mark.parametrize(("old", "new", "marker", "entry", "code", "says"), REFUSED)
def test_refusals_name_line_entry_and_reason(old, new, marker, entry, code, says):
    text = mutate(old, new, HOURS)
    problem = only_refusal(text)
    assert (problem.line, problem.entry, problem.code) == (line_of(text, marker), entry, code)
    assert says in problem.reason, problem.reason


def test_never_open_is_refused():
    text = HOURS
    for day in ("monday", "tuesday", "thursday", "friday"):
        text = mutate(f"          {day}: 09:30-16:00\n", f"          {day}: closed\n", text)
    text = mutate("          wednesday: 13:00-16:00\n", "          wednesday: closed\n", text)
    problem = only_refusal(text)
    assert (problem.line, problem.entry, problem.code) == (line_of(text, "monday:"), f"{WHERE}.hours", "never_open")


def test_closed_reply_without_hours_is_refused():
    text = mutate(HOURS_BLOCK, "", HOURS)
    problem = only_refusal(text)
    assert (problem.line, problem.entry, problem.code) == (line_of(text, "closed_reply"), f"{WHERE}.closed_reply",
                                                           "closed_without_hours")
    assert "a closed_reply needs hours" in problem.reason


def test_closed_reply_in_other_languages_than_the_reply_is_refused():
    missing = WELSH_HOURS.replace(
        '          cy: "Llinell Gymorth Stelcian: 0808 802 0300, ar agor {opens}. Mewn perygl, ffoniwch 999."\n', "")
    problem = only_refusal(missing)
    assert (problem.code, problem.entry, problem.args["language"]) == ("closed_languages", f"{WHERE}.closed_reply",
                                                                       "cy")
    assert "only the reply has 'cy'" in problem.reason
    extra = WELSH_HOURS.replace('          cy: "Llinell Gymorth Stelcian: 0808 802 0300."\n', "")
    assert [p.code for p in refusals(extra)] == ["closed_languages"]
    assert "only the closed_reply has 'cy'" in refusals(extra)[0].reason


def test_closed_reply_is_counted_with_the_longest_opening():
    # 147 + len("{opens}") fits one SMS part; with the longest {opens} it is two, which only warns past three.
    room = 160 - len(CLOSED.replace("{opens}", hours.LONGEST_OPENS))
    padded = CLOSED.replace("Stalking", "Stalking" + "!" * (room + 1), 1)
    assert len(padded) <= 160 < len(padded.replace("{opens}", hours.LONGEST_OPENS))
    text = mutate(f'        closed_reply: "{CLOSED}"\n', f'        closed_reply: "{padded}"\n', HOURS)
    assert parse_book(text).warnings == ()
    near_limit = "Closed. " * 185 + "Opens {opens}. In danger, call 999."  # 10 parts only without {opens} filled
    assert sms.analyse(near_limit).segments == 10
    text = mutate(f'        closed_reply: "{CLOSED}"\n', f'        closed_reply: "{near_limit}"\n', HOURS)
    assert [p.code for p in refusals(text)] == ["too_many_segments"]


def test_closed_reply_with_the_danger_preamble_must_fit():
    long_reply = "Closed. " * 180 + "Opens {opens}. In danger, call 999."
    assert sms.analyse(long_reply.replace("{opens}", hours.LONGEST_OPENS)).segments == 10
    text = mutate(f'        closed_reply: "{CLOSED}"\n', f'        closed_reply: "{long_reply}"\n', HOURS)
    assert [p.code for p in refusals(text)] == ["too_long_with_danger"]


@pytest.mark.parametrize("value", ['"09:00-12:30, 13:30-16:00"', "[09:00-12:30, 13:30-16:00]",
                                   "\n            - 09:00-12:30\n            - 13:30-16:00"])
def test_a_day_with_several_ranges(value):
    book = parse_book(mutate("          monday: 09:30-16:00\n", f"          monday: {value}\n", HOURS))
    opening = book.sets["main"].keywords["STALKING"].hours
    assert opening.week[0] == ((540, 750), (810, 960))
    assert not opening.is_open(utc(2026, 11, 30, 12, 30)) and opening.is_open(utc(2026, 11, 30, 12, 29))


def test_all_day_and_days_left_out():
    text = mutate("          friday: 09:30-16:00\n", "          friday: 09:30-16:00\n          saturday: all day\n",
                  HOURS)
    opening = parse_book(text).sets["main"].keywords["STALKING"].hours
    assert opening.is_open(utc(2026, 11, 28, 0, 0)) and opening.is_open(utc(2026, 11, 28, 23, 59))
    assert not opening.is_open(utc(2026, 11, 29, 12, 0))  # Sunday is not listed: closed


def test_opens_is_refused_in_every_other_reply():
    text = BASE.replace('default: "Text DVS or STALKING. If', 'default: "Text DVS or STALKING {opens}. If')
    problem = only_refusal(text)
    assert (problem.entry, problem.code) == ("sets.main.default", "opens_only_when_closed")


# --- the webhook and `simulate` --------------------------------------------------------------------------------

@pytest.fixture
def hours_app(config, tmp_path):
    path = tmp_path / "keywords.yaml"
    path.write_text(with_opening_hours((ROOT / "keywords.yaml").read_text()))
    return create_app({**config, "KEYWORDS_FILE": str(path)})


@pytest.mark.parametrize(("now", "says"), [
    (utc(2026, 11, 28, 3, 0), "is closed now and opens on Monday 30 November at 9:30am"),
    (utc(2026, 11, 30, 9, 29, 59), "is closed now and opens today at 9:30am"),
    (utc(2026, 11, 30, 9, 30), "for practical support and advice"),
])
def test_webhook_answers_at_the_moment_the_text_arrives(hours_app, r, monkeypatch, now, says):
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            assert tz is UTC
            return now

    monkeypatch.setattr(webhook, "datetime", Clock)
    response = post_signed(hours_app.test_client(), "/sms", inbound_form("stalking"))
    assert response.status_code == 200
    (job,) = sending.queue(sending.REPLIES, r).get_jobs()
    assert says in job.kwargs["body"] and "call 999" in job.kwargs["body"]


@pytest.mark.parametrize(("at", "says", "state"), [
    ("2026-11-28T03:00", "opens on Monday 30 November at 9:30am",
     "at: Sat 28 Nov 2026 03:00:00 GMT (Europe/London)  opening hours: closed, opens on Monday 30 November at 9:30am"),
    ("2026-06-01T09:29:59", "opens today at 9:30am",
     "at: Mon 01 Jun 2026 09:29:59 BST (Europe/London)  opening hours: closed, opens today at 9:30am"),
    ("2026-06-01T09:30", "for practical support",
     "at: Mon 01 Jun 2026 09:30:00 BST (Europe/London)  opening hours: open"),
    ("2026-06-01T08:30:00+00:00", "for practical support", "opening hours: open"),
    ("2026-12-28T10:00", "opens tomorrow at 9:30am", "opening hours: closed, opens tomorrow at 9:30am"),
])
def test_simulate_at_a_moment(hours_app, at, says, state):
    result = hours_app.test_cli_runner().invoke(args=["simulate", "stalking", "--at", at])
    assert result.exit_code == 0, result.output
    assert "keyword: STALKING" in result.output
    assert state in result.output and says in result.output


def test_simulate_now_and_without_hours(hours_app, app):
    now = hours_app.test_cli_runner().invoke(args=["simulate", "stalking"])
    assert now.exit_code == 0 and re.search(r"opening hours: (open|closed, opens )", now.output)
    shipped = app.test_cli_runner().invoke(args=["simulate", "stalking", "--at", "2026-11-28T03:00"])
    assert shipped.exit_code == 0 and "opening hours: none for this reply" in shipped.output
    assert "0808 802 0300 for practical support" in shipped.output


@pytest.mark.parametrize(("at", "says"), [
    ("tomorrow", "'tomorrow' is not a date and time like 2026-11-28T03:00"),
    ("2026-13-01T10:00", "is not a date and time"),
    ("2026-03-29T01:30", "2026-03-29T01:30 does not exist in London"),
])
def test_simulate_refuses_a_bad_moment(hours_app, at, says):
    result = hours_app.test_cli_runner().invoke(args=["simulate", "stalking", "--at", at])
    assert result.exit_code == 2
    assert "Invalid value for '--at'" in result.output and says in result.output
