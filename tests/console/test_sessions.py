"""Sessions that end on sign-out, disable and password change (a per-user epoch in Redis), case-insensitive
user names, and the users CLI's enable and set-password."""

from __future__ import annotations

import pytest

from gateway.console import audit, users
from tests.console.support import PASSWORD, login, make_user, post

# --- sessions ---------------------------------------------------------------------------------------------------

def copy_session(app, client):
    """Another client holding a copy of `client`'s session cookie (as an attacker who stole it would)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_cookie_copied_before_sign_out_is_refused_after(signed_in, app):
    client = signed_in("editor", name="ed")
    thief = copy_session(app, client)
    assert thief.get("/console/keywords").status_code == 200
    post(client, "/console/logout")
    assert thief.get("/console/keywords").status_code == 302
    assert client.get("/console/keywords").status_code == 302


def test_disable_then_enable_does_not_revive_old_sessions(signed_in, app, r):
    client = signed_in("editor", name="ed")
    thief = copy_session(app, client)
    admin = signed_in("admin", name="boss")
    post(admin, "/console/users/ed/disable")
    post(admin, "/console/users/ed/enable")
    assert not users.get(r, "ed").disabled
    assert client.get("/console/keywords").status_code == 302
    assert thief.get("/console/keywords").status_code == 302
    assert login(app.test_client(), "ed").status_code == 302


def test_password_change_ends_every_session(signed_in, app, r):
    one = signed_in("editor", name="ed")
    two = app.test_client()
    assert login(two, "ed").status_code == 302
    users.set_password(r, "ed", "a brand new passphrase")
    assert one.get("/console/keywords").status_code == 302
    assert two.get("/console/keywords").status_code == 302
    assert login(app.test_client(), "ed").status_code == 401
    assert login(app.test_client(), "ed", "a brand new passphrase").status_code == 302


def test_sign_out_ends_the_users_other_sessions(signed_in, app):
    one = signed_in("editor", name="ed")
    two = app.test_client()
    assert login(two, "ed").status_code == 302
    post(one, "/console/logout")
    assert two.get("/console/keywords").status_code == 302


def test_other_users_sessions_survive(signed_in):
    ed = signed_in("editor", name="ed")
    olly = signed_in("operator", name="olly")
    post(ed, "/console/logout")
    assert olly.get("/console/inbox").status_code == 200


# --- names ------------------------------------------------------------------------------------------------------

def test_an_admin_cannot_disable_themselves_in_capitals(signed_in, r):
    admin = signed_in("admin", name="boss")
    response = post(admin, "/console/users/BOSS/disable", follow_redirects=True)
    assert "You cannot disable yourself" in response.get_data(as_text=True)
    assert not users.get(r, "boss").disabled
    assert admin.get("/console/users").status_code == 200


def test_names_are_case_insensitive_everywhere(signed_in, app, r):
    make_user(r, "Ed", "editor")
    assert users.get(r, "ED").name == "ed"
    assert login(app.test_client(), "ED").status_code == 302
    assert login(app.test_client(), " eD ").status_code == 302
    with pytest.raises(users.UserError):
        make_user(r, "ED", "operator")
    admin = signed_in("admin", name="boss")
    post(admin, "/console/users/Ed/disable")
    assert users.get(r, "ed").disabled
    post(admin, "/console/users/eD/enable")
    assert not users.get(r, "ed").disabled
    # Look-alikes that only Unicode case mapping turns into ASCII are other names, not the user's.
    make_user(r, "kate", "editor")
    assert users.get(r, "\u212aATE") is None  # KELVIN SIGN lowers to "k"
    assert login(app.test_client(), "\u212aate").status_code == 401
    with pytest.raises(users.UserError):
        make_user(r, "\u212aate", "editor")


def test_a_failed_sign_in_counts_against_the_normalised_name(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    for i, name in enumerate(("ED", "Ed", "eD", " ed", "ED ")):
        login(client, name, "not the password", environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"})
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code == 429


# --- flask --app wsgi users ... ---------------------------------------------------------------------------------

@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_enable(runner, r):
    make_user(r, "carol", "operator")
    runner.invoke(args=["users", "disable", "CAROL"])
    assert users.get(r, "carol").disabled
    result = runner.invoke(args=["users", "enable", "Carol"])
    assert result.exit_code == 0, result.output
    assert "enabled carol" in result.output
    assert not users.get(r, "carol").disabled
    assert runner.invoke(args=["users", "enable", "nobody"]).exit_code == 1
    assert "user-enabled" in [e["action"] for e in audit.recent(r)]


def test_cli_set_password_reads_stdin_and_ends_sessions(runner, signed_in, r):
    client = signed_in("editor", name="ed")
    result = runner.invoke(args=["users", "set-password", "ED"], input="another long passphrase\n")
    assert result.exit_code == 0, result.output
    assert "password set for ed" in result.output
    assert users.authenticate(r, "ed", "another long passphrase") is not None
    assert users.authenticate(r, "ed", PASSWORD) is None
    assert client.get("/console/keywords").status_code == 302
    short = runner.invoke(args=["users", "set-password", "ed"], input="too short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    assert runner.invoke(args=["users", "set-password", "nobody"], input="a long enough one\n").exit_code == 1
    assert "password-set" in [e["action"] for e in audit.recent(r)]


def test_cli_disable_ends_sessions(runner, signed_in):
    client = signed_in("editor", name="ed")
    runner.invoke(args=["users", "disable", "ed"])
    runner.invoke(args=["users", "enable", "ed"])
    assert client.get("/console/keywords").status_code == 302
