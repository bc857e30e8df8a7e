"""The reports' figures, from the daily counters: one table a chart, the same figures for CSV. Pure."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from gateway.reports.counters import ack_percentile

# Twilio's names for the error codes a delivery report sees most (each code's page:
# https://www.twilio.com/docs/api/errors/<code>, e.g. https://www.twilio.com/docs/api/errors/30003).
ERROR_NAMES = {
    "21211": "Invalid 'To' phone number",
    "21408": "Sending to this region is not enabled",
    "21610": "Recipient has opted out (STOP)",
    "21612": "'To' number not reachable by SMS",
    "21614": "'To' number is not a mobile number",
    "21635": "'To' number cannot be a landline",
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
}

DECISIONS = (("default", "default"), ("help", "help"), ("optout", "opt-out"), ("optin", "opt-in"),
             ("relay", "relay"), ("danger", "danger"))


@dataclass(frozen=True)
class Table:
    """A report's figures: a column a series, a row a day."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | int | None, ...], ...]

    def column(self, name: str) -> list:
        """One column's figures, day by day."""
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def csv(self) -> str:
        """The table as CSV, a header line first."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(["" if v is None else v for v in row] for row in self.rows)
        return out.getvalue()


PERIODS = {"day": ("day", "per day"), "week": ("week beginning", "per week")}  # first column, title


def usage(counts: dict[str, dict[str, int]], period: str = "day") -> Table:
    """Inbound texts per day by decision: each keyword, then default, help, opt-out, opt-in, relay, danger."""
    keywords = sorted({f[len("in:keyword:"):] for day in counts.values() for f in day if f.startswith("in:keyword:")})
    fields = [(f"in:keyword:{k}", k) for k in keywords] + [(f"in:{f}", label) for f, label in DECISIONS]
    rows = tuple((day, *(c.get(f, 0) for f, _ in fields), sum(c.get(f, 0) for f, _ in fields))
                 for day, c in counts.items())
    column, per = PERIODS[period]
    return Table("usage", f"Texts received {per}, by what they asked for",
                 (column, *(label for _, label in fields), "total"), rows)


def relay(counts: dict[str, dict[str, int]], period: str = "day") -> Table:
    """Relay cases per day (by the day they opened), how fast they were acknowledged, and escalations."""
    rows = tuple((day, c.get("cases:opened", 0), c.get("ack:count", 0), ack_percentile(c, 0.5),
                  ack_percentile(c, 0.9), c.get("cases:realerted", 0), c.get("cases:tier2", 0))
                 for day, c in counts.items())
    return Table("relay", "Emergency text line: cases, and time to acknowledgement",
                 (PERIODS[period][0], "cases", "acknowledged", "median seconds", "90th percentile seconds",
                  "needed a reminder", "reached the second tier"), rows)


def deliveries(counts: dict[str, dict[str, int]], period: str = "day") -> Table:
    """Sends per day: accepted by Twilio, delivered, not delivered, refused by Twilio."""
    rows = tuple((day, c.get("sent", 0), c.get("status:delivered", 0),
                  c.get("status:undelivered", 0) + c.get("status:failed", 0), c.get("refused", 0) + c.get("failed", 0))
                 for day, c in counts.items())
    column, per = PERIODS[period]
    return Table("deliveries", f"Replies and alerts sent {per}",
                 (column, "sent", "delivered", "not delivered", "refused or failed"), rows)


def error_codes(counts: dict[str, dict[str, int]], top: int = 10) -> Table:
    """The most frequent Twilio error codes over the whole range."""
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update({f[len("err:"):]: n for f, n in c.items() if f.startswith("err:")})
    rows = tuple((code, ERROR_NAMES.get(code, "see Twilio's error page"), n) for code, n in total.most_common(top))
    return Table("errors", "Twilio error codes", ("code", "meaning", "count"), rows)


def optouts(counts: dict[str, dict[str, int]], period: str = "day") -> Table:
    """Opt-outs and opt-ins recorded per day."""
    rows = tuple((day, c.get("optout", 0), c.get("optin", 0)) for day, c in counts.items())
    column, per = PERIODS[period]
    return Table("optouts", f"Opt-outs and opt-ins {per}", (column, "opt-outs", "opt-ins"), rows)


def languages(counts: dict[str, dict[str, int]], period: str = "day") -> Table:
    """Texts that picked a language, per day and language code (sets offering several languages only)."""
    codes = sorted({f[len("lang:"):] for day in counts.values() for f in day if f.startswith("lang:")})
    rows = tuple((day, *(c.get(f"lang:{code}", 0) for code in codes)) for day, c in counts.items())
    column, per = PERIODS[period]
    return Table("languages", f"Languages texters picked {per}", (column, *codes), rows if codes else ())
