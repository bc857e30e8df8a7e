"""Relay inbox alerts: unacknowledged count in the title and banner, row data for the page's script, and
what a refresh gets once the session has ended."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.relay import cases
from gateway.relay.line import TEXTER_READ
from tests.conftest import RELAY_LINE, TEXTER, inbound_form, post_signed
from tests.console.support import PASSWORD, REFERER, make_user, post, token

FETCH = {"X-Requested-With": "fetch"}


def open_case(app, body: str, texter: str) -> cases.Case:
    post_signed(app.test_client(), "/sms", inbound_form(body, texter=texter, to=RELAY_LINE))
    r = app.extensions["signpost"].redis
    return next(c for c in cases.open_cases(r) if c.texter == texter)


def other_texter(last: str) -> str:
    return TEXTER[:-3] + last


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found
    return found.group(1).strip()


def banner(html: str) -> str:
    """The text inside the unacknowledged-cases live region (empty when there is none)."""
    found = re.search(r'<div id="unacked"[^>]*>(.*?)</div>', html, re.S)
    assert found, "no unacked live region"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_title_and_banner_count_unacknowledged_cases(app, signed_in, r):
    oldest = open_case(app, "first", other_texter("111"))
    time.sleep(0.01)
    newest = open_case(app, "second", other_texter("222"))
    operator = signed_in("operator")

    page = operator.get("/console/inbox").get_data(as_text=True)
    assert title(page) == "(2) Relay inbox - signpost console"
    assert "2 new emergency texts not acknowledged" in banner(page)
    assert re.search(r'<div id="unacked"[^>]*role="alert"', page)
    assert f'href="/console/cases/{oldest.id}"' in page.split('id="unacked"')[1].split("</div>")[0]

    cases.acknowledge(r, oldest.id, "console:op")
    page = operator.get("/console/inbox").get_data(as_text=True)
    assert title(page) == "(1) Relay inbox - signpost console"
    assert "1 new emergency text not acknowledged" in banner(page)
    assert f'href="/console/cases/{newest.id}"' in page.split('id="unacked"')[1].split("</div>")[0]

    cases.acknowledge(r, newest.id, "console:op")
    page = operator.get("/console/inbox").get_data(as_text=True)
    assert title(page) == "Relay inbox - signpost console"
    assert banner(page) == ""


def test_rows_carry_case_id_state_and_age_for_the_page_script(app, signed_in, r):
    first = open_case(app, "first", other_texter("111"))
    second = open_case(app, "second", other_texter("222"))
    cases.acknowledge(r, first.id, "console:op")
    rows = signed_in("operator").get("/console/inbox/rows").get_data(as_text=True)
    assert re.search(rf'<tr [^>]*data-case="{second.id}" data-state="new" data-age="\d+s"', rows)
    assert re.search(rf'<tr [^>]*data-case="{first.id}" data-state="acknowledged"', rows)
    assert rows.count('data-state="new"') == 1
    assert other_texter("222") not in rows


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


def test_acknowledge_button_tells_the_texter_once_that_it_has_been_read(app, signed_in, r, run_jobs, standin):
    case = open_case(app, "he is outside", TEXTER)
    run_jobs()
    operator = signed_in("operator", name="op")
    for _ in range(2):  # a second press finds it acknowledged already: nothing more to the texter
        assert post(operator, f"/console/cases/{case.id}/ack").status_code == 302
    run_jobs()
    to_texter = [m for m in standin.messages if m["to"] == TEXTER]
    assert [m["body"] for m in to_texter[1:]] == [TEXTER_READ.format(id=case.id)]
    assert to_texter[1]["from"] == RELAY_LINE
    thread = operator.get(f"/console/cases/{case.id}/thread").get_data(as_text=True)
    assert thread.count("texter told it has been read") == 1
