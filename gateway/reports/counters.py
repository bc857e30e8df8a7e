"""Daily counters for the reports: counted as texts happen, one Redis hash per day (Europe/London dates).

They hold no phone number and no text, never come from the message log (they outlive its retention: KEEP_DAYS),
and a year of them is 365 hash reads. Fields:

    in:<decision>         inbound texts by decision: keyword:<NAME>, default, help, optout, optin, relay, danger
    optout, optin         opt-outs and opt-ins recorded (texted, or Twilio's 21610 on a send)
    lang:<code>           texts that picked a language (gateway.texts.languages)
    cases:opened          relay cases opened
    cases:realerted       cases that needed a reminder; cases:tier2, those that reached the second tier
    ack:count, ack:le:<s> cases acknowledged, and how many within <s> seconds (the buckets of ACK_BUCKETS)
    sent, refused         sends Twilio accepted; sends it refused (with err:<code>)
    status:<status>       delivery statuses from the callbacks (delivered, undelivered, failed), with err:<code>
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis

from gateway.redisdb import PREFIX

LONDON = ZoneInfo("Europe/London")
KEEP_DAYS = 800  # two years and more: board reports compare with last year
# Seconds from a case's first text to its acknowledgement, counted cumulatively: median and 90th percentile are
# read from these (the bucket the percentile falls in; fine enough for "answered within a minute").
ACK_BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600, 7200, 86400)


def day_of(at: float | None = None) -> str:
    """The Europe/London date of `at` (default now) as YYYY-MM-DD."""
    return datetime.fromtimestamp(time.time() if at is None else at, LONDON).date().isoformat()


def day_key(day: str) -> str:
    """The hash holding one day's counters."""
    return f"{PREFIX}daily:{day}"


def count(r: redis.Redis | redis.client.Pipeline, fields: Iterable[str], at: float | None = None) -> None:
    """Add one to each of `fields` on the day of `at` (on a pipeline: the caller executes it)."""
    key = day_key(day_of(at))
    for field in fields:
        r.hincrby(key, field, 1)
    r.expire(key, KEEP_DAYS * 86400)


def inbound_fields(kind: str, keyword: str | None, danger: bool) -> list[str]:
    """The fields an inbound text counts in: its decision (danger wins over the keyword it came with)."""
    if danger:
        return ["in:danger"]
    if kind == "keyword" and keyword:
        return [f"in:keyword:{keyword}"]
    return [f"in:{kind}"]


def ack_fields(seconds: float) -> list[str]:
    """A case acknowledged `seconds` after its first text."""
    return ["ack:count", *(f"ack:le:{b}" for b in ACK_BUCKETS if seconds <= b)]


def days(first: date, last: date) -> list[str]:
    """Every date from `first` to `last`, inclusive, as YYYY-MM-DD."""
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def read(r: redis.Redis, dates: list[str]) -> dict[str, dict[str, int]]:
    """The counters of each date (an empty dict for a day with none): one round trip."""
    with r.pipeline(transaction=False) as p:
        for day in dates:
            p.hgetall(day_key(day))
        raws = p.execute()
    return {day: {k.decode(): int(v) for k, v in raw.items()} for day, raw in zip(dates, raws, strict=True)}


def by_week(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The same counters summed per week, keyed by the week's Monday (every counter, ack buckets too, adds up)."""
    weeks: dict[str, dict[str, int]] = {}
    for day, fields in counts.items():
        monday = date.fromisoformat(day)
        monday -= timedelta(days=monday.weekday())
        week = weeks.setdefault(monday.isoformat(), {})
        for field, n in fields.items():
            week[field] = week.get(field, 0) + n
    return weeks


def ack_percentile(counters: dict[str, int], share: float) -> int | None:
    """Seconds within which `share` of the day's acknowledged cases were acknowledged (a bucket's bound), or None."""
    total = counters.get("ack:count", 0)
    if not total:
        return None
    for bound in ACK_BUCKETS:
        if counters.get(f"ack:le:{bound}", 0) >= share * total:
            return bound
    return None  # slower than the last bucket
