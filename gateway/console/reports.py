"""The reports page: charts of the daily counters over a chosen range, a table under each, CSV of each."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from gateway.console import bp
from gateway.console.auth import role_required
from gateway.reports import charts, counters, figures
from gateway.runtime import signpost

RANGES = {"day": 1, "week": 7, "month": 30, "year": 365}
DEFAULT_RANGE = "month"
MAX_DAYS = 800  # as long as the counters are kept
WEEKS_FROM = 93  # ranges longer than a quarter are grouped by week unless `by=day` asks otherwise


def chosen_days() -> tuple[list[str], str]:
    """The dates to report and the range's name: `range` (day, week, month, year), or `from`/`to` dates."""
    today = datetime.now(counters.LONDON).date()
    start, end = request.args.get("from", ""), request.args.get("to", "")
    if start or end:
        try:
            first = date.fromisoformat(start) if start else today - timedelta(days=29)
            last = date.fromisoformat(end) if end else today
        except ValueError:
            abort(400, "from and to are dates: YYYY-MM-DD")
        if last < first or (last - first).days >= MAX_DAYS:
            abort(400, f"from must not be after to, and the range at most {MAX_DAYS} days")
        return counters.days(first, last), "custom"
    name = request.args.get("range", DEFAULT_RANGE)
    if name not in RANGES:
        abort(400, f"range is one of: {', '.join(RANGES)}")
    return counters.days(today - timedelta(days=RANGES[name] - 1), today), name


def grouping(days: list[str]) -> str:
    """`by` (day or week); by default days up to a quarter, weeks beyond."""
    by = request.args.get("by") or ("week" if len(days) >= WEEKS_FROM else "day")
    if by not in figures.PERIODS:
        abort(400, f"by is one of: {', '.join(figures.PERIODS)}")
    return by


def tables(days: list[str], by: str) -> dict[str, figures.Table]:
    """Every report's table for `days`, a row a day or a week."""
    counts = counters.read(signpost().redis, days)
    if by == "week":
        counts = counters.by_week(counts)
    return {t.name: t for t in (figures.usage(counts, by), figures.relay(counts, by), figures.deliveries(counts, by),
                                figures.error_codes(counts), figures.optouts(counts, by),
                                figures.languages(counts, by))}


def drawn(tables: dict[str, figures.Table], by: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Each chart's SVG and legend."""
    days = tables["usage"].column(tables["usage"].columns[0])
    usage = tables["usage"]
    usage_series = {c: usage.column(c) for c in usage.columns[1:-1]}
    relay = tables["relay"]
    delays = {"median": relay.column("median seconds"), "90th percentile": relay.column("90th percentile seconds")}
    cases = {c: relay.column(c) for c in ("cases", "needed a reminder", "reached the second tier")}
    sent = tables["deliveries"]
    sent_series = {c: sent.column(c) for c in sent.columns[1:]}
    opt = tables["optouts"]
    opt_series = {c: opt.column(c) for c in opt.columns[1:]}
    picked = tables["languages"]
    picked_series = {c: picked.column(c) for c in picked.columns[1:]}
    return {
        "usage": (charts.stacked_bars(usage.title, days, usage_series), charts.legend(list(usage_series))),
        "cases": (charts.lines(f"Relay cases {figures.PERIODS[by][1]}", days, cases), charts.legend(list(cases))),
        "delays": (charts.lines("Time to acknowledgement", days, delays, unit="s"), charts.legend(list(delays))),
        "deliveries": (charts.lines(sent.title, days, sent_series), charts.legend(list(sent_series))),
        "optouts": (charts.lines(opt.title, days, opt_series), charts.legend(list(opt_series))),
        "languages": (charts.stacked_bars(picked.title, days, picked_series), charts.legend(list(picked_series))),
    }


@bp.get("/reports")
@role_required("editor")
def reports() -> ResponseReturnValue:
    days, name = chosen_days()
    by = grouping(days)
    found = tables(days, by)
    return render_template("reports.html", tables=found, charts=drawn(found, by), days=days, range=name, by=by,
                           ranges=list(RANGES), groupings=[("", "auto"), *((p, p) for p in figures.PERIODS)],
                           query=request.query_string.decode("latin-1"))


@bp.get("/reports/<name>.csv")
@role_required("editor")
def report_csv(name: str) -> ResponseReturnValue:
    days, _ = chosen_days()
    found = tables(days, grouping(days))
    if name not in found:
        abort(404)
    filename = f"signpost-{name}-{days[0]}-to-{days[-1]}.csv"
    return Response(found[name].csv(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
