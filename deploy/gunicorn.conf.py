"""gunicorn settings shipped with signpost (`gunicorn --config deploy/gunicorn.conf.py wsgi:app`)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# Twilio waits 15 s for an answer; a request that runs past 10 s is already a problem.
timeout = 10
graceful_timeout = 10
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
