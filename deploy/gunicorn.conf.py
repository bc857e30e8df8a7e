"""gunicorn settings shipped with signpost (`gunicorn --config deploy/gunicorn.conf.py wsgi:app`)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One gevent worker per core: a worker serves many connections at once, and more processes than cores only
# add switching between them (measured in bench/RESULTS.md: "Slow clients").
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# gevent: every connection is a greenlet, so a client that sends its request slowly, or nothing at all, holds a
# greenlet and not the worker. Sync workers were starved by 8 connections sending a header line a second, and
# gthread threads by 64 (bench/slowclients.py, docs/scaling.md). The app is plain sync Flask: gevent patches
# sockets and locks when the worker starts, before the app is imported.
worker_class = "gevent"
# Connections one worker holds at once, Twilio's and everyone else's.
worker_connections = 1000
# Twilio waits 15 s for an answer; a worker whose loop is blocked past 10 s (a request stuck on CPU) is restarted.
timeout = 10
graceful_timeout = 10
# Under gevent this also bounds how long a connection may take to send a request's headers (gunicorn reads them
# under gevent.Timeout(keepalive)): a client dribbling headers, or idle after connecting, is dropped after 5 s.
keepalive = 5
accesslog = None

# GET /metrics adds up every worker's figures (prometheus_client multiprocess mode): each worker writes them
# to files in PROMETHEUS_MULTIPROC_DIR, read from the environment when the app is imported in the worker.
# Empty: a fresh directory per start. It is emptied at start so figures of an earlier run never leak in.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
if not metrics_dir:
    import tempfile

    metrics_dir = tempfile.mkdtemp(prefix="signpost-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def on_starting(server):
    """Start with an empty metrics directory."""
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(metrics_dir, name))


def child_exit(server, worker):
    """A worker that exits stops counting in live gauges; its counters and histograms are kept."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_request(worker, req, environ, resp):
    """After a refused body (413), close the connection rather than read and discard the rest of it."""
    if resp is not None and resp.status_code == 413:
        req.must_close = True
