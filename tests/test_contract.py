"""Contract: our sends against Twilio's published OpenAPI description, served by Prism's mock server.

The stand-in (tests/twilio_standin.py) carries the error paths; this checks that the request our worker makes
is one the published API accepts, and that the stand-in answers with the same resource shape as the spec.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from rq.job import JobStatus

from gateway import create_app, sending
from gateway.sending import REPLIES, enqueue_send
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, ROOT, SHORT_CODE, TEXTER

SPEC = ROOT.parent / "shared" / "twilio" / "twilio_api_v2010.json"


def prism_binary() -> str | None:
    """Prism from PRISM_BIN, the project's .tools folder (scripts/test installs it there), or PATH."""
    for candidate in (os.environ.get("PRISM_BIN"), str(ROOT / ".tools" / "node_modules" / ".bin" / "prism")):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("prism")


pytestmark = pytest.mark.slow  # Prism runs as a separate process


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    binary = prism_binary()
    if binary is None or not SPEC.exists():
        pytest.skip("Prism or Twilio's OpenAPI description is not available")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "mock", "--errors", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"prism exited: {proc.stdout.read()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("prism did not start listening within 90 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def create(base_url: str, form: dict[str, str], auth: bool = True) -> tuple[int, dict]:
    """POST CreateMessage by hand and return (status, JSON)."""
    request = urllib.request.Request(f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                                     data=urlencode(form).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth:
        request.add_header("Authorization", "Basic " + b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_worker_send_is_accepted_by_the_published_api(config, prism, r, run_jobs):
    create_app({**config, "TWILIO_API_BASE_URL": prism})  # the settings this process's jobs run with
    queue = sending.queue(REPLIES, r)
    enqueue_send(queue, TEXTER, SHORT_CODE, "Derbyshire Victim Services: 0800 612 6505", "contract-1")
    run_jobs()
    job = queue.fetch_job("send-contract-1")
    assert job.get_status() == JobStatus.FINISHED, job.latest_result().exc_string if job.latest_result() else ""
    assert job.return_value().startswith("SM")


def shape(value):
    """JSON types of a resource, keys included, values left out."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return "null-or-string" if value is None or isinstance(value, str) else type(value).__name__


def test_standin_answers_with_the_spec_resource_shape(prism, standin):
    form = {"To": TEXTER, "From": SHORT_CODE, "Body": "hello"}
    spec_status, from_spec = create(prism, form)
    standin_status, from_standin = create(standin.base_url, form)
    assert spec_status == standin_status == 201
    assert set(from_standin) == set(from_spec)
    assert shape(from_standin)["subresource_uris"].keys() == shape(from_spec)["subresource_uris"].keys()


@pytest.mark.parametrize("form, auth", [({"From": SHORT_CODE, "Body": "no To"}, True),
                                        ({"To": TEXTER, "From": SHORT_CODE, "Body": "x"}, False)])
def test_standin_refuses_what_the_published_api_refuses(prism, standin, form, auth):
    spec_status, _ = create(prism, form, auth)
    standin_status, body = create(standin.base_url, form, auth)
    assert spec_status >= 400 and standin_status >= 400
    assert {"code", "message", "more_info", "status"} <= set(body)
