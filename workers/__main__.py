"""`python -m workers`: the send and relay jobs, one pool of workers per queue (relay, urgent, replies), with
RQ's scheduler for retries. Why SimpleWorkers in lanes, and the measured figures: workers/pool.py and
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import logging
import sys

from gateway import configure_logging, redisdb, settings
from workers import pool


def positive(raw: str) -> int:
    """argparse type: a whole number from 1 to 64."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected 1 to 64, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the worker pool until stopped."""
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--concurrency", "-c", type=positive, default=4,
                        help="worker processes in all (default 4): a third for relay work, a quarter for urgent, "
                             "one each at least, the rest for routine replies; each runs jobs in-process")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)
    try:
        s = settings.install(settings.load())
    except settings.ConfigError as exc:
        print(f"signpost worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(s.log_level, json_lines=s.production)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    pool.run(lambda: redisdb.connect(s, timeouts=False), args.concurrency, burst=args.burst,
             level=s.log_level.upper())
    return 0


if __name__ == "__main__":
    sys.exit(main())
