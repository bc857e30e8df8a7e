"""Reports: daily counters counted as texts happen (no number, no text), the figures and CSV made from them."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date

import pytest

from gateway import create_app
from gateway.relay import cases
from gateway.reports import charts, counters, figures
from tests.conftest import RELAY_LINE, TEXTER, inbound_form, post_signed
from tests.console.support import login, make_user

TODAY = counters.day_of()


def today(r) -> dict[str, int]:
    return counters.read(r, [TODAY])[TODAY]


def test_texts_are_counted_by_decision_as_they_arrive(config, r, run_jobs, standin):
    client = create_app({**config, "ALERT_TO": "+447400000077"}).test_client()
    for body, texter in [("DVS", TEXTER), ("dvs please", "+447911000401"), ("STALKING", "+447911000402"),
                         ("hello", "+447911000403"), ("HELP", "+447911000404"), ("STOP", "+447911000405"),
                         ("START", "+447911000405"), ("he has a knife", "+447911000406")]:
        assert post_signed(client, "/sms", inbound_form(body, texter=texter)).status_code == 200
    form = inbound_form("DVS")
    post_signed(client, "/sms", form)
    post_signed(client, "/sms", form)  # Twilio posting it twice: counted once
    post_signed(client, "/sms", inbound_form("I need help", to=RELAY_LINE))
    counted = today(r)
    assert {k: v for k, v in counted.items() if k.startswith("in:")} == {
        "in:keyword:DVS": 3, "in:keyword:STALKING": 1, "in:default": 1, "in:help": 1, "in:optout": 1,
        "in:optin": 1, "in:danger": 1, "in:relay": 1}
    assert (counted["optout"], counted["optin"], counted["cases:opened"]) == (1, 1, 1)
    run_jobs()
    assert today(r)["sent"] == len(standin.messages)
    assert not any(re.search(r"\d{7,}", field) for field in today(r))  # no number in any field


def test_relay_acknowledgement_times_and_escalations(config, r, queues, run_jobs, standin):
    client = create_app(config).test_client()
    post_signed(client, "/sms", inbound_form("fire next door", to=RELAY_LINE))
    (case,) = cases.open_cases(r)
    cases.acknowledge(r, case.id, "test", now=case.opened_at + 42)
    counted = today(r)
    assert counted["ack:count"] == 1 and counted["ack:le:45"] == 1 and "ack:le:30" not in counted
    (row,) = figures.relay({TODAY: counted}).rows
    assert row == (TODAY, 1, 1, 45, 45, 0, 0)


def test_escalations_are_counted_once_a_case(config, r, queues, run_jobs, standin, monkeypatch):
    from rq import get_current_job  # noqa: F401  (the job below runs in this process)

    from workers import relay as relay_jobs

    client = create_app({**config, "RELAY_ESCALATE_TIERS_AFTER": "1"}).test_client()
    post_signed(client, "/sms", inbound_form("help", to=RELAY_LINE))
    (case,) = cases.open_cases(r)
    for round_ in (1, 2, 3):
        queues[0].enqueue(relay_jobs.escalate, case_id=case.id, round=round_)
        run_jobs()
    counted = today(r)
    assert (counted["cases:realerted"], counted["cases:tier2"]) == (1, 1)


def test_delivery_statuses_and_error_codes(client, r):
    for sid, status, code in [("a", "delivered", None), ("b", "undelivered", "30003"), ("c", "failed", "30005"),
                              ("d", "sent", None), ("e", "delivered", None)]:
        form = {"MessageSid": "SM" + sid * 32, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
        if code:
            form["ErrorCode"] = code
        assert post_signed(client, "/sms/status", form).status_code == 204
    counted = today(r)
    assert (counted["status:delivered"], counted["status:undelivered"], counted["status:failed"]) == (2, 1, 1)
    assert "status:sent" not in counted  # only how a message ended
    assert figures.error_codes({TODAY: counted}).rows == (
        ("30003", "Unreachable destination handset", 1), ("30005", "Unknown destination handset", 1))


def test_figures_and_csv_from_counters():
    counts = {"2026-11-01": {"in:keyword:DVS": 3, "in:default": 1, "in:danger": 2, "optout": 1},
              "2026-11-02": {"in:keyword:STALKING": 4, "in:relay": 1, "optin": 2}}
    usage = figures.usage(counts)
    assert usage.columns == ("day", "DVS", "STALKING", "default", "help", "opt-out", "opt-in", "relay", "danger",
                             "total")
    assert usage.rows == (("2026-11-01", 3, 0, 1, 0, 0, 0, 0, 2, 6), ("2026-11-02", 0, 4, 0, 0, 0, 0, 1, 0, 5))
    rows = list(csv.reader(io.StringIO(figures.optouts(counts).csv())))
    assert rows == [["day", "opt-outs", "opt-ins"], ["2026-11-01", "1", "0"], ["2026-11-02", "0", "2"]]


def test_language_picks_by_day_and_code():
    counts = {"2026-11-01": {"lang:pl": 2, "in:help": 2}, "2026-11-02": {"lang:en": 1, "lang:pl": 1}}
    table = figures.languages(counts)
    assert table.columns == ("day", "en", "pl")
    assert table.rows == (("2026-11-01", 0, 2), ("2026-11-02", 1, 1))
    assert figures.languages({"2026-11-01": {"in:help": 2}}).rows == ()


@pytest.mark.parametrize(("seconds", "median"), [(3, 5), (5, 5), (6, 10), (100000, None)])
def test_ack_percentiles_read_from_buckets(seconds, median):
    counted: dict[str, int] = {}
    for field in counters.ack_fields(seconds):
        counted[field] = counted.get(field, 0) + 1
    assert counters.ack_percentile(counted, 0.5) == median


def test_days_are_uk_dates_across_the_clock_change():
    # 00:30 UTC on 2026-06-01 is 01:30 in London (summer time): still 1 June; 23:30 UTC on 31 May is 1 June.
    assert counters.day_of(1780273800) == "2026-06-01"  # 2026-06-01T00:30:00Z
    assert counters.day_of(1780270200) == "2026-06-01"  # 2026-05-31T23:30:00Z, 00:30 BST
    assert counters.days(date(2026, 3, 28), date(2026, 3, 30)) == ["2026-03-28", "2026-03-29", "2026-03-30"]


def signed_in(app, r, role: str):
    make_user(r, f"{role}9", role)
    client = app.test_client()
    assert login(client, f"{role}9").status_code == 302
    return client


def test_reports_page_for_editors_not_operators(app, r):
    app.config["PREFERRED_URL_SCHEME"] = "https"
    counters.count(r, ["in:keyword:DVS", "in:keyword:DVS", "cases:opened"])
    editor = signed_in(app, r, "editor")
    page = editor.get("/console/reports").get_data(as_text=True)
    assert 'data-series="DVS" data-value="2"' in page and "Emergency text line" in page
    assert signed_in(app, r, "operator").get("/console/reports").status_code == 403
    response = editor.get("/console/reports/usage.csv?range=week")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert len(lines) == 1 + 7 and lines[-1].startswith(f"{TODAY},2,")
    assert editor.get("/console/reports?range=decade").status_code == 400
    assert editor.get("/console/reports?from=2026-13-01").status_code == 400
    assert editor.get("/console/reports/nope.csv").status_code == 404
    assert 'id="languages"' not in page  # no set offers languages: no section
    counters.count(r, ["lang:pl", "lang:pl"])
    page = editor.get("/console/reports").get_data(as_text=True)
    assert 'id="table-languages"' in page and re.search(rf"<th scope=\"row\">{TODAY}</th><td>2</td>", page)
    languages = page[page.index('<section id="languages">'):]
    assert f'data-day="{TODAY}" data-series="pl" data-value="2"' in languages  # drawn, as the other reports are
    lines = editor.get("/console/reports/languages.csv?range=day").get_data(as_text=True).splitlines()
    assert lines == ["day,pl", f"{TODAY},2"]


def test_counters_are_kept_long_after_the_message_log(r):
    counters.count(r, ["in:default"], at=time.time())
    ttl = r.ttl(counters.day_key(TODAY))
    assert ttl > 700 * 86400  # the message log keeps RETENTION_DAYS (30); reports compare years


@pytest.mark.parametrize(("largest", "ticks"), [(0, [0, 1]), (3, [0, 1, 2, 3, 4, 5]), (12, [0, 5, 10, 15, 20]),
                                               (99, [0, 20, 40, 60, 80, 100]), (480, [0, 100, 200, 300, 400, 500])])
def test_axes_count_in_whole_round_numbers(largest, ticks):
    svg = charts.lines("x", ["2026-11-01"], {"a": [largest]})
    labels = [float(t) for t in re.findall(r'class="axis">([0-9.]+)</text>', svg)[:len(ticks) + 1]]
    assert labels[:len(ticks)] == ticks and len(re.findall(r'class="grid"', svg)) == len(ticks)


def test_weeks_sum_every_counter_from_monday():
    counts = {"2026-11-22": {"in:default": 1},  # a Sunday
              "2026-11-23": {"in:default": 2, **dict.fromkeys(counters.ack_fields(4), 1)},  # Monday
              "2026-11-29": {"in:default": 3, **dict.fromkeys(counters.ack_fields(100), 1)}}  # Sunday
    weeks = counters.by_week(counts)
    assert list(weeks) == ["2026-11-16", "2026-11-23"]
    assert weeks["2026-11-23"]["in:default"] == 5 and weeks["2026-11-23"]["ack:count"] == 2
    assert counters.ack_percentile(weeks["2026-11-23"], 0.5) == 5  # one of two within 5 s
    assert counters.ack_percentile(weeks["2026-11-23"], 0.9) == 120


def test_a_year_is_shown_by_week_unless_days_are_asked_for(app, r):
    app.config["PREFERRED_URL_SCHEME"] = "https"
    counters.count(r, ["in:help"])
    editor = signed_in(app, r, "editor")
    year = editor.get("/console/reports?range=year").get_data(as_text=True)
    usage = year.split('id="table-usage"')[1].split("</table>")[0]
    weeks = re.findall(r'<tr><th scope="row">(\d{4}-\d\d-\d\d)</th>', usage)
    assert len(weeks) in (53, 54) and all(date.fromisoformat(w).weekday() == 0 for w in weeks)
    assert "week beginning" in year
    by_day = editor.get("/console/reports/usage.csv?range=year&by=day").get_data(as_text=True).splitlines()
    assert len(by_day) == 1 + 365 and by_day[0].startswith("day,")
    assert editor.get("/console/reports?range=year&by=hour").status_code == 400
