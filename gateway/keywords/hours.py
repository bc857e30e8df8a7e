"""Opening hours of the services a reply points to: open or closed at a moment, and when they open next. Pure.

Hours are wall-clock times in Europe/London for each weekday, so they follow the clock changes. England and
Wales bank holidays are closed days unless a service says `bank_holidays: open`; the calendar is the
`holidays` package's for England (England and Wales share their bank holidays, substitute days included,
https://www.gov.uk/bank-holidays), which also lists the one-off ones (jubilees, a coronation, a state funeral).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
PLACEHOLDER = "{opens}"
# The longest `{opens}` can be, for counting a closed reply's SMS parts before it is ever sent.
LONGEST_OPENS = "on Wednesday 30 September at midnight"
LOOKAHEAD_DAYS = 21  # a service shut longer than this is reported as having no next opening

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

Span = tuple[int, int]  # minutes from midnight: open from the first, closed again at the second (up to 1440)


class HoursError(ValueError):
    """Opening hours that cannot be read; the message says what is wrong, in words for staff."""


@dataclass(frozen=True)
class Hours:
    """A service's opening hours: spans per weekday (Monday first), bank holidays, one-off closed dates."""

    week: tuple[tuple[Span, ...], ...]
    bank_holidays_open: bool = False
    closed_dates: frozenset[date] = frozenset()
    name: str = ""

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """The spans the service is open on `day` (none on a closed date or, unless open then, a bank holiday)."""
        if day in self.closed_dates or (not self.bank_holidays_open and is_bank_holiday(day)):
            return ()
        return self.week[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        """Whether the service is open at `at` (an aware datetime)."""
        local = at.astimezone(LONDON)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans_on(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment after `at` that the service opens (London time), or None within LOOKAHEAD_DAYS."""
        local = at.astimezone(LONDON)
        for ahead in range(LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=ahead)
            for start, _ in self.spans_on(day):
                opens = _wall(day, start)
                if opens > local:
                    return opens
        return None


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_bank_holiday(day: date) -> bool:
    """Whether `day` is a bank holiday in England and Wales (substitute days too)."""
    return day in _bank_holidays(day.year)


def _wall(day: date, minute: int) -> datetime:
    """The London wall-clock moment `minute` after midnight on `day` (24:00 is the next midnight)."""
    if minute >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), clock(0), LONDON)
    return datetime.combine(day, clock(minute // 60, minute % 60), LONDON)


def parse_day(value: str) -> tuple[Span, ...]:
    """One weekday's hours: "closed", "all day", or ranges like "09:30-16:00" or "09:00-12:30, 13:30-17:00"."""
    text = value.strip().lower()
    if text == "closed":
        return ()
    if text in ("all day", "24 hours"):
        return ((0, 24 * 60),)
    spans: list[Span] = []
    for part in text.split(","):
        found = _RANGE.match(part.strip())
        if not found:
            raise HoursError(f"{part.strip()!r} is not a time range like 09:30-16:00 (or closed, or all day)")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise HoursError(f"{part.strip()!r} has a time that does not exist (00:00 to 24:00)")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise HoursError(f"{part.strip()!r} closes before it opens (for hours past midnight, write "
                             "until 24:00 and carry on from 00:00 the next day)")
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise HoursError(f"{value.strip()!r} has ranges that overlap")
    return tuple(spans)


def describe(opens: datetime, at: datetime, language: str) -> str:
    """When `opens` is, said from `at`: "today at 9:30am", "tomorrow at 1pm", "on Monday 4 January at 9am".

    English words for English; other languages get the date and time in figures ("04/01 09:00"), which read
    the same in every language, until the set supplies its own words."""
    local, now = opens.astimezone(LONDON), at.astimezone(LONDON)
    if language != "en":
        return local.strftime("%d/%m %H:%M")
    hour, minute = local.hour, local.minute
    if (hour, minute) == (12, 0):
        when = "midday"
    elif (hour, minute) == (0, 0):
        when = "midnight"
    else:
        when = f"{(hour - 1) % 12 + 1}{f':{minute:02d}' if minute else ''}{'am' if hour < 12 else 'pm'}"
    days = (local.date() - now.date()).days
    if days == 0:
        return f"today at {when}"
    if days == 1:
        return f"tomorrow at {when}"
    weekday = DAYS[local.weekday()].capitalize()
    return f"on {weekday} {local.day} {MONTHS[local.month - 1]} at {when}"


def fill(text: str, opens: datetime | None, at: datetime, language: str) -> str:
    """A closed reply with `{opens}` said from `at` ("when it reopens" if it has no opening in sight)."""
    said = describe(opens, at, language) if opens else ("when it reopens" if language == "en" else "-")
    return text.replace(PLACEHOLDER, said)


MAX_MOMENT = 40  # characters of an ISO moment worth reading


def moment(value: str) -> datetime:
    """An ISO moment ("2026-11-28T03:00"); without a UTC offset it is London wall-clock time.

    ValueError, in words for staff, for anything else and for a London time the spring clock change skips
    (01:00-01:59 on the last Sunday of March); the hour repeated in October is read as the first (BST)."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        if not text or len(text) > MAX_MOMENT:
            raise ValueError
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{str(value)[:MAX_MOMENT]!r} is not a date and time like 2026-11-28T03:00") from None
    if parsed.tzinfo is not None:
        return parsed
    local = parsed.replace(tzinfo=LONDON)
    if local.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) != parsed:
        raise ValueError(f"{text} does not exist in London: the clocks go forward an hour then")
    return local


def week_of(days: dict[str, str]) -> tuple[tuple[Span, ...], ...]:
    """Spans per weekday, Monday first, from {"monday": "09:30-16:00", ...}; a day not given is closed.

    HoursError names the day that is wrong, or says the service would never open."""
    for name in days:
        if name not in DAYS:
            raise HoursError(f"{name!r} is not a day of the week ({', '.join(DAYS)})")
    week = []
    for name in DAYS:
        try:
            week.append(parse_day(days[name]) if name in days else ())
        except HoursError as exc:
            raise HoursError(f"{name}: {exc}") from None
    if not any(week):
        raise HoursError("open on no day of the week: give the hours of at least one day")
    return tuple(week)


def state(is_open: bool, opens: datetime | None, at: datetime) -> str:
    """Open or closed at `at`, in words for staff: "open", "closed, opens today at 9:30am"."""
    if is_open:
        return "open"
    return f"closed, opens {describe(opens, at, 'en') if opens else f'not within {LOOKAHEAD_DAYS} days'}"


def summary(opening: Hours) -> str:
    """The hours in one line for staff: "Mon 09:30-16:00 · Wed 13:00-16:00 · bank holidays closed"."""
    days = []
    for name, spans in zip(DAYS, opening.week, strict=True):
        if spans:
            ranges = ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans)
            days.append(f"{name[:3].capitalize()} {ranges}")
    return " · ".join([*days, f"bank holidays {'open' if opening.bank_holidays_open else 'closed'}"])
