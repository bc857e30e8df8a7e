"""`python -m workers`: a pool of workers on every signpost queue, most urgent first, with RQ's scheduler.

Worker class: SimpleWorker processes in an rq WorkerPool, no fork per job, with recovery of the jobs of a
worker that dies; the reasons and the measured figures are in workers/pool.py and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import logging
import sys

from gateway import configure_logging, redisdb, settings
from gateway.sending import ORDER
from workers.pool import SignpostPool, SignpostWorker


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
    parser.add_argument("--concurrency", "-c", type=positive, default=2,
                        help="worker processes (default 2); each runs jobs in-process, no fork per job")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)
    try:
        s = settings.install(settings.load())
    except settings.ConfigError as exc:
        print(f"signpost worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(s.log_level, json_lines=s.production)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    connection = redisdb.connect(s, timeouts=False)
    # SimpleWorker runs each job in its worker process: no fork per job on the hot path; the pool
    # gives parallelism and restarts a worker process that dies.
    pool = SignpostPool(list(ORDER), connection=connection, num_workers=args.concurrency,
                        worker_class=SignpostWorker)
    pool.start(burst=args.burst, logging_level=s.log_level.upper())
    return 0


if __name__ == "__main__":
    sys.exit(main())
