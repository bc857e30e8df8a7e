"""Opening hours: both sides of every boundary, the clock changes in March and October, bank holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.keywords import hours
from gateway.keywords.hours import Hours, HoursError, parse_day

WEEKDAY = parse_day("09:30-16:00")
# The National Stalking Helpline's published pattern: weekdays 9:30am-4pm, Wednesday from 1pm.
HELPLINE = Hours((WEEKDAY, WEEKDAY, parse_day("13:00-16:00"), WEEKDAY, WEEKDAY, (), ()))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("at", "is_open"), [
    # Winter (GMT = UTC): Monday 30 November 2026.
    (utc(2026, 11, 30, 9, 29, 59), False), (utc(2026, 11, 30, 9, 30), True),
    (utc(2026, 11, 30, 15, 59, 59), True), (utc(2026, 11, 30, 16, 0), False),
    # Wednesday opens at 1pm.
    (utc(2026, 12, 2, 12, 59, 59), False), (utc(2026, 12, 2, 13, 0), True),
    # Saturday and Sunday closed all day.
    (utc(2026, 11, 28, 12, 0), False), (utc(2026, 11, 29, 12, 0), False),
    # Summer (BST = UTC+1): Monday 1 June 2026 opens at 08:30 UTC and closes at 15:00 UTC.
    (utc(2026, 6, 1, 8, 29, 59), False), (utc(2026, 6, 1, 8, 30), True),
    (utc(2026, 6, 1, 14, 59, 59), True), (utc(2026, 6, 1, 15, 0), False),
])
def test_open_on_each_side_of_every_boundary(at, is_open):
    assert HELPLINE.is_open(at) is is_open


@pytest.mark.parametrize(("at", "is_open"), [
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026: Monday 30 March 09:30 is 08:30 UTC.
    (utc(2026, 3, 27, 9, 29), False), (utc(2026, 3, 27, 9, 30), True),  # Friday before: still GMT
    (utc(2026, 3, 30, 8, 29), False), (utc(2026, 3, 30, 8, 30), True),
    (utc(2026, 3, 30, 14, 59), True), (utc(2026, 3, 30, 15, 0), False),
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026: Monday 26 October 09:30 is 09:30 UTC again.
    (utc(2026, 10, 23, 8, 30), True), (utc(2026, 10, 23, 15, 0), False),  # Friday before: still BST
    (utc(2026, 10, 26, 8, 30), False), (utc(2026, 10, 26, 9, 29), False), (utc(2026, 10, 26, 9, 30), True),
    (utc(2026, 10, 26, 15, 59), True), (utc(2026, 10, 26, 16, 0), False),
])
def test_the_clock_changes(at, is_open):
    assert HELPLINE.is_open(at) is is_open


@pytest.mark.parametrize(("at", "opens"), [
    (utc(2026, 3, 27, 17, 0), utc(2026, 3, 30, 8, 30)),  # Friday evening GMT -> Monday 09:30 BST
    (utc(2026, 10, 23, 17, 0), utc(2026, 10, 26, 9, 30)),  # Friday evening BST -> Monday 09:30 GMT
    (utc(2026, 11, 30, 9, 29), utc(2026, 11, 30, 9, 30)),  # a minute before: today
    (utc(2026, 12, 1, 16, 0), utc(2026, 12, 2, 13, 0)),  # Tuesday's close -> Wednesday at 1pm
])
def test_next_opening(at, opens):
    assert HELPLINE.next_opening(at) == opens


def test_bank_holidays_are_closed_days():
    # Christmas 2026: Friday 25 (Christmas Day) and Monday 28 (Boxing Day, substitute day) are bank holidays.
    assert hours.is_bank_holiday(date(2026, 12, 25)) and hours.is_bank_holiday(date(2026, 12, 28))
    assert not hours.is_bank_holiday(date(2026, 12, 24)) and not hours.is_bank_holiday(date(2026, 12, 29))
    assert not HELPLINE.is_open(utc(2026, 12, 28, 10, 0))
    assert HELPLINE.is_open(utc(2026, 12, 24, 15, 59)) and not HELPLINE.is_open(utc(2026, 12, 25, 10, 0))
    assert HELPLINE.next_opening(utc(2026, 12, 24, 16, 0)) == utc(2026, 12, 29, 9, 30)
    # Early May bank holiday 2026 (Monday 4 May, BST): closed all day, open the day before and after.
    assert not HELPLINE.is_open(utc(2026, 5, 4, 10, 0)) and HELPLINE.is_open(utc(2026, 5, 5, 8, 30))
    # A one-off: the coronation bank holiday, Monday 8 May 2023.
    assert not HELPLINE.is_open(utc(2023, 5, 8, 10, 0)) and HELPLINE.is_open(utc(2023, 5, 9, 10, 0))
    # A service that stays open on bank holidays, and one with its own closed date.
    always = Hours(HELPLINE.week, bank_holidays_open=True)
    assert always.is_open(utc(2026, 5, 4, 10, 0))
    shut = Hours(HELPLINE.week, closed_dates=frozenset({date(2026, 12, 24)}))
    assert not shut.is_open(utc(2026, 12, 24, 10, 0)) and shut.is_open(utc(2026, 12, 23, 14, 0))  # a Wednesday


def test_hours_across_midnight_and_all_day():
    late = parse_day("22:00-24:00")
    early = parse_day("00:00-02:00")
    night = Hours((late, early + late, early + late, early + late, early + late, early + late, early))
    assert not night.is_open(utc(2026, 11, 30, 21, 59)) and night.is_open(utc(2026, 11, 30, 22, 0))
    assert night.is_open(utc(2026, 11, 30, 23, 59)) and night.is_open(utc(2026, 12, 1, 0, 0))
    assert night.is_open(utc(2026, 12, 1, 1, 59)) and not night.is_open(utc(2026, 12, 1, 2, 0))
    assert night.next_opening(utc(2026, 12, 1, 12, 0)) == utc(2026, 12, 1, 22, 0)
    assert Hours((parse_day("all day"),) * 7, bank_holidays_open=True).is_open(utc(2026, 12, 25, 3, 0))


@pytest.mark.parametrize(("value", "spans"), [
    ("closed", ()), ("Closed ", ()), ("all day", ((0, 1440),)), ("9:30-16:00", ((570, 960),)),
    ("13:30-17:00, 09:00-12:30", ((540, 750), (810, 1020))), ("00:00-24:00", ((0, 1440),)),
])
def test_parse_day(value, spans):
    assert parse_day(value) == spans


@pytest.mark.parametrize(("value", "says"), [
    ("9-5", "not a time range"), ("09:30-25:00", "does not exist"), ("16:00-09:30", "closes before it opens"),
    ("09:00-13:00, 12:00-17:00", "overlap"), ("09:60-10:00", "does not exist"), ("24:00-24:00", "does not exist"),
    ("", "not a time range"),
])
def test_parse_day_refuses(value, says):
    with pytest.raises(HoursError, match=says):
        parse_day(value)


@pytest.mark.parametrize(("opens", "at", "said"), [
    (utc(2026, 11, 30, 9, 30), utc(2026, 11, 30, 3, 0), "today at 9:30am"),
    (utc(2026, 12, 2, 13, 0), utc(2026, 12, 1, 20, 0), "tomorrow at 1pm"),
    (utc(2026, 11, 30, 9, 30), utc(2026, 11, 28, 3, 0), "on Monday 30 November at 9:30am"),
    (utc(2026, 6, 1, 11, 0), utc(2026, 6, 1, 7, 0), "today at midday"),  # 12:00 BST
    (utc(2026, 6, 1, 23, 0), utc(2026, 6, 1, 7, 0), "tomorrow at midnight"),  # 00:00 BST on 2 June
])
def test_describe_in_english(opens, at, said):
    assert hours.describe(opens, at, "en") == said
    assert len(said) <= len(hours.LONGEST_OPENS)


def test_describe_in_other_languages_uses_figures():
    assert hours.describe(utc(2026, 6, 1, 8, 30), utc(2026, 5, 30, 3, 0), "pl") == "01/06 09:30"
    text = "Zamkniete. Otwarte {opens}. W niebezpieczenstwie: 999."
    assert hours.fill(text, None, utc(2026, 6, 1), "pl") == "Zamkniete. Otwarte -. W niebezpieczenstwie: 999."


@pytest.mark.parametrize(("value", "at"), [
    ("2026-11-28T03:00", utc(2026, 11, 28, 3, 0)),  # GMT
    ("2026-06-01T09:30", utc(2026, 6, 1, 8, 30)),  # BST
    ("2026-06-01 09:30:15", utc(2026, 6, 1, 8, 30, 15)),
    (" 2026-11-28T03:00 ", utc(2026, 11, 28, 3, 0)),
    ("2026-11-28", utc(2026, 11, 28, 0, 0)),
    ("2026-06-01T09:30+00:00", utc(2026, 6, 1, 9, 30)),  # an offset is taken as given
    ("2026-06-01T09:30Z", utc(2026, 6, 1, 9, 30)),
    ("2026-03-29T00:59", utc(2026, 3, 29, 0, 59)),  # the last minute of GMT
    ("2026-03-29T02:00", utc(2026, 3, 29, 1, 0)),  # the first of BST
    ("2026-10-25T01:30", utc(2026, 10, 25, 0, 30)),  # the hour that repeats: its first (BST)
])
def test_moment_reads_london_wall_clock(value, at):
    # Compared in UTC: an aware time in the repeated hour never equals one in another zone (PEP 495).
    assert hours.moment(value).astimezone(UTC) == at


@pytest.mark.parametrize(("value", "says"), [
    ("", "not a date and time like 2026-11-28T03:00"), ("tomorrow", "not a date and time"),
    ("2026-02-30T10:00", "not a date and time"), ("2026-11-28T25:00", "not a date and time"),
    ("2" * 100, "not a date and time"),
    ("2026-03-29T01:00", "does not exist in London"), ("2026-03-29T01:59", "does not exist in London"),
])
def test_moment_refuses(value, says):
    with pytest.raises(ValueError, match=says):
        hours.moment(value)


def test_week_of_form_values():
    assert hours.week_of({"monday": "09:30-16:00", "wednesday": "closed"})[:3] == (((570, 960),), (), ())
    with pytest.raises(HoursError, match="^tuesday: '9-5' is not a time range"):
        hours.week_of({"tuesday": "9-5"})
    with pytest.raises(HoursError, match="'mon' is not a day of the week"):
        hours.week_of({"mon": "09:30-16:00"})
    with pytest.raises(HoursError, match="open on no day of the week"):
        hours.week_of({"monday": "closed"})


def test_summary_and_state_for_staff():
    assert hours.summary(HELPLINE) == ("Mon 09:30-16:00 · Tue 09:30-16:00 · Wed 13:00-16:00 · Thu 09:30-16:00 · "
                                       "Fri 09:30-16:00 · bank holidays closed")
    assert hours.summary(Hours((((0, 1440),),) * 7, bank_holidays_open=True)).endswith("Sun 00:00-24:00 · "
                                                                                   "bank holidays open")
    at = utc(2026, 11, 28, 3, 0)
    assert hours.state(True, None, at) == "open"
    assert hours.state(False, utc(2026, 11, 30, 9, 30), at) == "closed, opens on Monday 30 November at 9:30am"
    assert hours.state(False, None, at) == "closed, opens not within 21 days"
