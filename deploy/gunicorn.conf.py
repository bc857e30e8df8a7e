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
