"""Reports page load with a year of counters: the page an editor opens, through gunicorn, timed at the client.

    python bench/reports.py [--days 365] [--keywords 20] [--requests 30]

Starts a scratch Redis with deploy/redis.conf and the web process as production runs it (deploy/gunicorn.conf.py),
writes --days of daily counters ending today (every decision, --keywords keywords, relay cases with
acknowledgement times, sends, statuses and error codes), signs in as an editor and times GET /console/reports for
a year, a month and a day, and the year's CSV: median and 95th percentile of --requests each, after one warm-up.
Last line: days=365 year_p50_ms=<x> year_p95_ms=<y>
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import statistics
import sys
import time
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Stack  # noqa: E402
from gateway.console import users  # noqa: E402
from gateway.reports import counters  # noqa: E402

PASSWORD = "bench password for the reports page"


def seed(r, days: int, keywords: int) -> int:
    """Counters for `days` days ending today; returns how many fields were written."""
    rng = random.Random(3)
    today = datetime.now(counters.LONDON).date()
    words = [f"WORD{i:02d}" for i in range(keywords)]
    fields = 0
    with r.pipeline(transaction=False) as p:
        for day in counters.days(today - timedelta(days=days - 1), today):
            key = counters.day_key(day)
            values = {f"in:keyword:{w}": rng.randint(0, 60) for w in words}
            values |= {f"in:{d}": rng.randint(0, 20) for d in ("default", "help", "optout", "optin", "relay", "danger")}
            values |= {"optout": rng.randint(0, 5), "optin": rng.randint(0, 2), "sent": rng.randint(100, 900),
                       "refused": rng.randint(0, 3), "status:delivered": rng.randint(100, 800),
                       "status:undelivered": rng.randint(0, 9), "status:failed": rng.randint(0, 4),
                       "cases:opened": rng.randint(0, 12), "cases:realerted": rng.randint(0, 3),
                       "cases:tier2": rng.randint(0, 1)}
            values |= {f"err:{c}": rng.randint(0, 5) for c in ("30003", "30005", "30006", "30007", "21610", "21211")}
            for _ in range(values["cases:opened"]):
                for f in counters.ack_fields(rng.choice((8, 20, 40, 75, 150, 500))):
                    values[f] = values.get(f, 0) + 1
            p.hset(key, mapping=values)
            fields += len(values)
        p.execute()
    return fields


class Browser:
    """Just enough of a browser: one connection, the session cookie, the CSRF token from the sign-in form."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, payload

    def sign_in(self, name: str) -> None:
        _, page = self.request("GET", "/console/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)[1].decode()
        status, _ = self.request("POST", "/console/login", {"name": name, "password": PASSWORD, "csrf_token": token})
        if status != 302:
            raise SystemExit(f"sign-in answered {status}")


def timed(browser: Browser, path: str, n: int) -> tuple[float, float, int]:
    """Median and 95th percentile milliseconds of `n` GETs (after one warm-up), and the page's size."""
    status, body = browser.request("GET", path)
    if status != 200:
        raise SystemExit(f"GET {path} answered {status}")
    took = []
    for _ in range(n):
        start = time.perf_counter()
        status, body = browser.request("GET", path)
        took.append((time.perf_counter() - start) * 1000)
        assert status == 200
    took.sort()
    return statistics.median(took), took[max(0, round(0.95 * n) - 1)], len(body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=365, help="days of counters to write (default 365)")
    ap.add_argument("--keywords", type=int, default=20, help="keywords counted each day (default 20)")
    ap.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    args = ap.parse_args(argv)
    if not 1 <= args.days <= counters.KEEP_DAYS or args.keywords < 0 or args.requests < 1:
        ap.error(f"--days is 1 to {counters.KEEP_DAYS}, --keywords 0 or more, --requests 1 or more")

    stack = Stack(redis_conf=ROOT / "deploy" / "redis.conf", name="reports")
    try:
        stack.start_redis()
        stack.start_standin()
        stack.start_web()
        r = stack.redis()
        fields = seed(r, args.days, args.keywords)
        users.create(r, "bench-editor", "editor", PASSWORD)
        browser = Browser(stack.web_port)
        browser.sign_in("bench-editor")
        print(f"{args.days} days of counters, {fields} fields; {args.requests} requests each", flush=True)
        figures = {}
        pages = (("year", "/console/reports?range=year"), ("month", "/console/reports"),
                 ("day", "/console/reports?range=day"), ("year CSV", "/console/reports/usage.csv?range=year"))
        for label, path in pages:
            p50, p95, size = timed(browser, path, args.requests)
            figures[label] = (p50, p95)
            print(f"{label:9} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {size / 1024:6.1f} KB", flush=True)
    finally:
        stack.stop()
    p50, p95 = figures["year"]
    print(f"days={args.days} year_p50_ms={p50:.1f} year_p95_ms={p95:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
