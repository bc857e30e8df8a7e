"""Relay inbox and case thread refreshes once the session has ended, and where sign-in returns to."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.console.support import PASSWORD, REFERER, make_user, token

FETCH = {"X-Requested-With": "fetch"}


@pytest.mark.parametrize(("path", "page"), [
    ("/console/inbox/rows", "/console/inbox"),
    ("/console/cases/ABCD/thread", "/console/cases/ABCD"),
    ("/console/inbox", "/console/inbox"),
])
def test_a_refresh_after_sign_out_answers_401_not_the_login_page(app, signed_in, path, page):
    client = signed_in("operator")
    post_logout = client.post("/console/logout", data={"csrf_token": token(client, "/console/inbox")},
                              headers=REFERER)
    assert post_logout.status_code == 302
    response = client.get(path, headers=FETCH)
    assert response.status_code == 401
    assert response.is_json
    body = response.get_json()
    assert body["signed_out"] is True
    login = urlsplit(body["login"])
    assert login.path == "/console/login" and parse_qs(login.query) == {"next": [page]}
    assert "<form" not in response.get_data(as_text=True)


def test_opening_a_fragment_url_signs_in_back_to_its_page(app):
    response = app.test_client().get("/console/inbox/rows")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"next": ["/console/inbox"]}
    response = app.test_client().get("/console/messages?number=123")
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"next": ["/console/messages?number=123"]}


@pytest.mark.parametrize("target", [
    "https://evil.example/console/inbox",
    "//evil.example/console/inbox",
    "/\\evil.example",
    "\\\\evil.example/console",
    "/consoleevil.example",
    "javascript:alert(1)",
    "/console/inbox\r\nLocation: https://evil.example",
    " //evil.example",
])
def test_sign_in_refuses_a_next_outside_the_console(app, r, target):
    make_user(r, "olly", "operator")
    client = app.test_client()
    response = client.post("/console/login", data={"name": "olly", "password": PASSWORD, "csrf_token": token(client),
                                                   "next": target}, headers=REFERER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"


def test_sign_in_returns_to_the_inbox(app, r):
    make_user(r, "olly", "operator")
    client = app.test_client()
    page = client.get("/console/login?next=/console/inbox").get_data(as_text=True)
    assert 'name="next" value="/console/inbox"' in page
    response = client.post("/console/login", data={"name": "olly", "password": PASSWORD, "csrf_token": token(client),
                                                   "next": "/console/inbox"}, headers=REFERER)
    assert response.headers["Location"] == "/console/inbox"
