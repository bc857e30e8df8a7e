"""End to end in Chromium: the reports page draws the daily counters, its charts and tables show the same
figures as Redis holds, and each table downloads as CSV.

Uses the server and browser of conftest.py (the real app on a thread, Debian's chromium through Playwright).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta

from playwright.sync_api import expect

from gateway.reports import counters
from tests.console.e2e.browser import sign_in
from tests.console.support import make_user

KEYWORDS = ("DVS", "STALKING", "SAFE")


def seed(r, days: int = 30) -> list[str]:
    """A month of plausible counters, ending today (UK dates); returns the dates."""
    rng = random.Random(12)
    today = datetime.now(counters.LONDON).date()
    dates = counters.days(today - timedelta(days=days - 1), today)
    with r.pipeline(transaction=False) as p:
        for day in dates:
            key = counters.day_key(day)
            for word in KEYWORDS:
                p.hincrby(key, f"in:keyword:{word}", rng.randint(0, 40))
            for field, most in (("in:default", 8), ("in:help", 4), ("in:optout", 3), ("in:optin", 1),
                                ("in:relay", 6), ("in:danger", 2), ("optout", 3), ("optin", 1),
                                ("refused", 1)):
                p.hincrby(key, field, rng.randint(0, most))
            sent, unreachable, unknown = rng.randint(20, 90), rng.randint(0, 4), rng.randint(0, 2)
            for field, n in (("sent", sent), ("status:delivered", sent - unreachable - unknown),
                             ("status:undelivered", unreachable), ("err:30003", unreachable),
                             ("status:failed", unknown), ("err:30005", unknown)):
                p.hincrby(key, field, n)
            opened = rng.randint(0, 5)
            p.hincrby(key, "cases:opened", opened)
            for _ in range(opened):
                for field in counters.ack_fields(rng.choice((4, 12, 25, 50, 100, 400))):
                    p.hincrby(key, field, 1)
            p.hincrby(key, "cases:realerted", rng.randint(0, opened))
        p.execute()
    return dates


def chart_marks(page, section: str) -> list[dict]:
    """Every mark (bar or point) the first chart of a section draws, with its data and geometry."""
    return page.locator(f"#{section} svg.chart").first.evaluate("""svg => [...svg.querySelectorAll('[data-day]')]
        .map(m => ({day: m.dataset.day, series: m.dataset.series, value: Number(m.dataset.value),
                    height: m.getBBox().height, title: m.querySelector('title').textContent}))""")


def test_charts_and_tables_show_the_counters(server, browser, r, shots):
    dates = seed(r)
    stored = counters.read(r, dates)
    make_user(r, "rhona", "editor")
    page = sign_in(browser, server, "rhona")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    expect(page.locator(".meta")).to_have_text(f"{dates[0]} to {dates[-1]} (30 days)")

    # Texts received: one bar per day and decision with a figure, its value the counter's, its height in
    # proportion (the tallest bars' heights over their values agree).
    marks = chart_marks(page, "usage")
    labels = {"default": "in:default", "help": "in:help", "opt-out": "in:optout", "opt-in": "in:optin",
              "relay": "in:relay", "danger": "in:danger", **{w: f"in:keyword:{w}" for w in KEYWORDS}}
    expected = {(day, label): n for day in dates for label, field in labels.items()
                if (n := stored[day].get(field, 0))}
    assert {(m["day"], m["series"]): m["value"] for m in marks} == expected
    scale = {round(m["height"] / m["value"], 2) for m in marks if m["value"] >= 10}
    assert max(scale) - min(scale) < 0.05, scale
    dvs = next(m for m in marks if m["series"] == "DVS")
    assert dvs["title"] == f"{dvs['day']} DVS: {dvs['value']:g}"

    # The table under it (folded until asked for): each day's row, totals included.
    rows = page.locator("#table-usage tbody tr")
    expect(rows.first).to_be_hidden()
    page.get_by_text("Texts received per day, by what they asked for: the figures").click()
    expect(rows.first).to_be_visible()
    expect(rows).to_have_count(30)
    header = page.locator("#table-usage thead th").all_inner_texts()
    last = dict(zip(header, rows.last.locator("th, td").all_inner_texts(), strict=True))
    assert last["day"] == dates[-1]
    assert int(last["DVS"]) == stored[dates[-1]].get("in:keyword:DVS", 0)
    assert int(last["total"]) == sum(stored[dates[-1]].get(f, 0) for f in labels.values())

    # Relay: cases per day, and the acknowledgement times read from the buckets.
    cases = [m for m in chart_marks(page, "relay") if m["series"] == "cases"]
    assert {m["day"]: m["value"] for m in cases} == {d: stored[d].get("cases:opened", 0) for d in dates}
    delays = page.locator("#relay svg.chart").nth(1).evaluate(
        "svg => [...svg.querySelectorAll('[data-series=median]')].map(m => [m.dataset.day, Number(m.dataset.value)])")
    assert dict(delays) == {d: counters.ack_percentile(stored[d], 0.5) for d in dates
                            if counters.ack_percentile(stored[d], 0.5) is not None}

    # Deliveries and the error codes over the month.
    delivered = [m for m in chart_marks(page, "deliveries") if m["series"] == "delivered"]
    assert {m["day"]: m["value"] for m in delivered} == {d: stored[d].get("status:delivered", 0) for d in dates}
    codes = page.locator("#table-errors tbody tr").first.locator("th, td").all_inner_texts()
    top = max(("30003", "30005"), key=lambda c: sum(stored[d].get(f"err:{c}", 0) for d in dates))
    assert codes[0] == top and int(codes[2]) == sum(stored[d].get(f"err:{top}", 0) for d in dates)

    page.screenshot(path=str(shots / "reports.png"), full_page=True)

    # A week, and its CSV as a spreadsheet would open it.
    page.get_by_label("Range").select_option("week")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#table-optouts tbody tr")).to_have_count(7)
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV of opt-outs and opt-ins per day").click()
    text = open(download.value.path(), encoding="utf-8").read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["day", "opt-outs", "opt-ins"]
    assert table[1:] == [[d, str(stored[d].get("optout", 0)), str(stored[d].get("optin", 0))] for d in dates[-7:]]
    assert download.value.suggested_filename == f"signpost-optouts-{dates[-7]}-to-{dates[-1]}.csv"
