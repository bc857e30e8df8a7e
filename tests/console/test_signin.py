"""Sign-in that attackers cannot turn against staff: device cookies (OWASP), throttles for untrusted browsers per
account and per address, admin unlock from the console and `flask --app wsgi users unlock`."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from werkzeug.http import parse_cookie

from gateway.console import audit
from tests.console.support import login, make_user, post

SECRET = "test-secret-key-not-for-production"  # tests/conftest.py's SECRET_KEY
ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}


def device_cookie(response, name: str) -> tuple[str, str, str]:
    """(cookie name, value, whole Set-Cookie header) of the device cookie a sign-in issued for `name`."""
    for header in response.headers.getlist("Set-Cookie"):
        ((cookie_name, value),) = parse_cookie(header.split(";", 1)[0]).items()
        if value.startswith(f"{name},"):
            return cookie_name, value, header
    raise AssertionError(f"no device cookie for {name} in {response.headers.getlist('Set-Cookie')}")


def trusted_browser(app, name: str, **kwargs):
    """A test client that has signed in as `name` before (so holds its device cookie), then signed out."""
    client = app.test_client()
    assert login(client, name, **kwargs).status_code == 302
    assert post(client, "/console/logout").status_code == 302
    return client


def lock_untrusted(app, name: str, addr: str = ATTACKER["REMOTE_ADDR"]) -> None:
    attacker = app.test_client()
    for _ in range(5):
        login(attacker, name, "not the password", environ_base={"REMOTE_ADDR": addr})
    assert login(attacker, name, environ_base={"REMOTE_ADDR": addr}).status_code == 429


# --- device cookies --------------------------------------------------------------------------------------------

def test_device_cookie_is_login_nonce_hmac_and_renewed(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    first = login(client, "ed")
    cookie_name, value, header = device_cookie(first, "ed")
    login_, nonce, signature = value.split(",")
    assert login_ == "ed" and len(nonce) >= 16
    assert hmac.compare_digest(signature, hmac.new(SECRET.encode(), f"ed,{nonce}".encode(),
                                                   hashlib.sha256).hexdigest())
    lowered = header.lower()
    assert "httponly" in lowered and "secure" in lowered and "samesite=strict" in lowered
    assert "path=/console/login" in lowered and "max-age=" in lowered
    post(client, "/console/logout")
    again = device_cookie(login(client, "ed"), "ed")
    assert again[0] == cookie_name and again[1] != value  # a new nonce on every sign-in


def test_a_trusted_browser_signs_in_while_attackers_lock_the_account(app, r):
    make_user(r, "ed", "editor")
    trusted = trusted_browser(app, "ed")
    lock_untrusted(app, "ed")
    lock_untrusted(app, "ed", "198.51.100.7")  # and from another address: still nothing for the trusted browser
    assert login(trusted, "ed").status_code == 302
    # A new browser (no device cookie) with the right password is refused, and told what it can do.
    response = login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "browser you have signed in with before" in page and "an admin can unlock" in page
    actions = [e["action"] for e in audit.recent(r)]
    assert "login-locked" in actions


def test_a_trusted_browser_is_not_locked_by_failures_from_its_own_address(app, r):
    make_user(r, "ed", "editor")
    trusted = trusted_browser(app, "ed", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    attacker = app.test_client()
    for i in range(8):
        login(attacker, f"guess{i}", "not the password", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    response = login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 429
    assert "admin" not in response.get_data(as_text=True)  # nobody can lift an address lock early
    assert login(trusted, "ed", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302


def test_a_device_cookie_that_fails_too_often_is_locked_itself(app, r):
    make_user(r, "ed", "editor")
    stolen = trusted_browser(app, "ed")
    other_trusted = trusted_browser(app, "ed")
    for _ in range(4):
        assert login(stolen, "ed", "not the password").status_code == 401
    response = login(stolen, "ed", "not the password")
    assert response.status_code == 429
    assert "this browser" in response.get_data(as_text=True)
    assert login(stolen, "ed").status_code == 429  # even with the right password
    assert login(other_trusted, "ed").status_code == 302  # other trusted browsers are untouched
    # The device's failures were counted against the device, not against the account's untrusted clients.
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "192.0.2.20"}).status_code == 302


@pytest.mark.parametrize("forge", ["signature", "other-key", "other-user", "garbage"])
def test_forged_device_cookies_are_untrusted(app, r, forge):
    make_user(r, "ed", "editor")
    make_user(r, "bob", "editor")
    cookie_name, value, _ = device_cookie(login(app.test_client(), "ed"), "ed")
    login_, nonce, signature = value.split(",")
    if forge == "signature":
        forged = f"ed,{nonce},{'0' * len(signature)}"
    elif forge == "other-key":
        forged = f"ed,{nonce}," + hmac.new(b"another key", f"ed,{nonce}".encode(), hashlib.sha256).hexdigest()
    elif forge == "other-user":
        forged = device_cookie(login(app.test_client(), "bob"), "bob")[1]
    else:
        forged = "ed,,"
    lock_untrusted(app, "ed")
    client = app.test_client()
    client.set_cookie(cookie_name, forged, path="/console/login")
    assert login(client, "ed").status_code == 429


def test_admin_unlocks_an_account_from_the_users_page(app, r, signed_in):
    make_user(r, "ed", "editor")
    stolen = trusted_browser(app, "ed")
    for _ in range(5):
        login(stolen, "ed", "not the password")
    lock_untrusted(app, "ed")
    admin = signed_in("admin", name="boss")
    page = admin.get("/console/users").get_data(as_text=True)
    assert "Unlock ed" in page and "locked" in page
    response = post(admin, "/console/users/ED/unlock")  # names in URLs are case-insensitive
    assert response.status_code == 302
    assert "Unlock ed" not in admin.get("/console/users").get_data(as_text=True)
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "192.0.2.30"}).status_code == 302
    assert login(stolen, "ed").status_code == 302  # the locked device cookie is unlocked too
    assert any(e["action"] == "user-unlocked" and e["detail"] == "ed" for e in audit.recent(r))


def test_only_admins_unlock(signed_in, r):
    make_user(r, "ed", "editor")
    client = signed_in("editor", name="eve")
    assert post(client, "/console/users/ed/unlock").status_code == 403


def test_ipv6_addresses_are_throttled_by_their_64(app, r):
    make_user(r, "ed", "editor")
    for i in range(5):
        login(app.test_client(), f"guess{i}", "not the password", environ_base={"REMOTE_ADDR": f"2001:db8:0:1::{i}"})
    response = login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "2001:db8:0:1::beef"})
    assert response.status_code == 429
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "2001:db8:0:2::1"}).status_code == 302


# --- flask --app wsgi users ... ---------------------------------------------------------------------------------

@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_unlock(runner, app, r):
    make_user(r, "ed", "editor")
    lock_untrusted(app, "ed")
    result = runner.invoke(args=["users", "unlock", "Ed"])
    assert result.exit_code == 0, result.output
    assert "unlocked ed" in result.output
    # The on-call engineer is told what the unlock does not lift, not left to find out from a 429.
    assert "address" in result.output and "15 minutes" in result.output
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "192.0.2.40"}).status_code == 302
    assert runner.invoke(args=["users", "unlock", "nobody"]).exit_code == 1
    assert "user-unlocked" in [e["action"] for e in audit.recent(r)]
