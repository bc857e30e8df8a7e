"""End-to-end fixtures: the console served by a real HTTP server thread, Debian's chromium driven by Playwright,
and where screenshots go.

Without /usr/bin/chromium every test here is skipped, or fails when SIGNPOST_REQUIRE_E2E is set (as .ci/run sets it).
Set SIGNPOST_SCREENSHOTS=1 to (re)write the README's screenshots into docs/screenshots/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.conftest import ROOT
from tests.console.e2e.browser import CHROMIUM, FLAGS


@pytest.fixture(autouse=True)
def chromium() -> str:
    """The browser's executable; a test here is skipped without it, or fails if SIGNPOST_REQUIRE_E2E is set."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver; .ci/run does)"
        if os.environ.get("SIGNPOST_REQUIRE_E2E"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def shots(tmp_path) -> Path:
    if os.environ.get("SIGNPOST_SCREENSHOTS"):
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path


@pytest.fixture
def server(app) -> Iterator[str]:
    # Plain http on loopback in this test: the Secure cookie flag is for production's https.
    app.config["SESSION_COOKIE_SECURE"] = False
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser(chromium: str) -> Iterator:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        launched.close()
