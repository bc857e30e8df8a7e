"""Console access: sign-in, roles on every page and action, CSRF, lockout, cookies, users CLI, audit log."""

from __future__ import annotations

import pytest

from gateway.console import audit, users
from tests.console.support import PASSWORD, REFERER, login, make_user, post, token

EDITOR_PAGES = ["/console/keywords", "/console/draft", "/console/versions", "/console/sandbox",
                "/console/sets/main/keywords/DVS", "/console/sets/main/keywords/new", "/console/sets/main/texts",
                "/console/danger", "/console/numbers/+447800002414/relay-ack"]
OPERATOR_PAGES = ["/console/inbox", "/console/inbox/rows"]
SHARED_PAGES = ["/console/messages"]
ADMIN_PAGES = ["/console/users", "/console/audit"]
ALL_PAGES = EDITOR_PAGES + OPERATOR_PAGES + SHARED_PAGES + ADMIN_PAGES

# Every POST action and the role it needs.
ACTIONS = [
    ("/console/sets/main/keywords/DVS", "editor"),
    ("/console/sets/main/keywords/DVS/delete", "editor"),
    ("/console/sets/main/texts", "editor"),
    ("/console/danger", "editor"),
    ("/console/numbers/+447800002414/relay-ack", "editor"),
    ("/console/draft/publish", "editor"),
    ("/console/draft/discard", "editor"),
    ("/console/draft/submit", "editor"),
    ("/console/draft/withdraw", "editor"),
    ("/console/draft/send-back", "editor"),
    ("/console/draft/approve", "editor"),
    ("/console/versions/1/restore", "editor"),
    ("/console/sandbox", "editor"),
    ("/console/cases/ABCD/ack", "operator"),
    ("/console/cases/ABCD/reply", "operator"),
    ("/console/cases/ABCD/close", "operator"),
    ("/console/users", "admin"),
    ("/console/users/someone/disable", "admin"),
]


@pytest.mark.parametrize("path", ALL_PAGES)
def test_every_page_needs_sign_in(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


def test_editor_sees_editor_pages_only(signed_in):
    client = signed_in("editor")
    for path in EDITOR_PAGES + SHARED_PAGES:
        assert client.get(path).status_code == 200, path
    for path in OPERATOR_PAGES + ADMIN_PAGES:
        assert client.get(path).status_code == 403, path


def test_operator_sees_operator_pages_only(signed_in):
    client = signed_in("operator")
    for path in OPERATOR_PAGES + SHARED_PAGES:
        assert client.get(path).status_code == 200, path
    for path in EDITOR_PAGES + ADMIN_PAGES:
        assert client.get(path).status_code == 403, path


def test_admin_sees_everything(signed_in):
    client = signed_in("admin")
    for path in ALL_PAGES:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("path,role", ACTIONS)
def test_actions_check_role_server_side(signed_in, r, path, role):
    others = [x for x in users.ROLES if x not in (role, "admin")]
    for other in others:
        client = signed_in(other, name=f"{other}-{role}")
        response = post(client, path, {"text": "x", "name": "X", "role": "editor", "password": "p" * 20})
        assert response.status_code == 403, (path, other)
    assert any(e["action"] == "forbidden" for e in audit.recent(r))


def test_post_without_csrf_token_is_refused(signed_in):
    client = signed_in("editor")
    response = client.post("/console/sandbox", data={"to": "82228", "text": "DVS"}, headers=REFERER)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    response = client.post("/console/sandbox", data={"to": "82228", "text": "DVS", "csrf_token": "forged"},
                           headers=REFERER)
    assert response.status_code == 400
    response = client.post("/console/api/preview", json={"text": "hi"}, headers=REFERER)
    assert response.status_code == 400
    ok = client.post("/console/api/preview", json={"text": "hi"},
                     headers={**REFERER, "X-CSRFToken": token(client)})
    assert ok.status_code == 200


def test_login_without_csrf_token_is_refused(app, r):
    make_user(r, "ed", "editor")
    response = app.test_client().post("/console/login", data={"name": "ed", "password": PASSWORD}, headers=REFERER)
    assert response.status_code == 400


def test_webhook_is_not_subject_to_csrf(app, client):
    from tests.conftest import inbound_form, post_signed

    response = post_signed(client, "/sms", inbound_form("DVS"))
    assert response.status_code == 200


def test_session_cookie_flags(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    response = login(client, "ed")
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # production settings


def test_wrong_password_and_audit(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    response = login(client, "ed", "wrong password here")
    assert response.status_code == 401
    assert "Wrong name or password" in response.get_data(as_text=True)
    assert login(client, "ed").status_code == 302
    actions = [e["action"] for e in audit.recent(r)]
    assert actions[:2] == ["login", "login-failed"]


def test_logout_ends_the_session(signed_in, r):
    client = signed_in("editor", name="ed")
    assert client.get("/console/keywords").status_code == 200
    response = post(client, "/console/logout")
    assert response.status_code == 302
    assert client.get("/console/keywords").status_code == 302
    assert audit.recent(r)[0]["action"] == "logout"


def test_lockout_after_five_failures_for_a_user(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    for _ in range(4):
        assert login(client, "ed", "not the password").status_code == 401
    response = login(client, "ed", "not the password")
    assert response.status_code == 429
    assert "locked for 15 minutes" in response.get_data(as_text=True)
    # Even the right password is refused while locked, from any address.
    other = app.test_client()
    response = login(other, "ed", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert 0 < r.ttl("signpost:login-lock:user:ed") <= 15 * 60
    entries = audit.recent(r)
    actions = [e["action"] for e in entries]
    # Refusals are counted into one entry per account, address and window (test_audit_log.py).
    assert sum(e["count"] for e in entries if e["action"] == "login-failed") == 5
    assert "login-locked" in actions and "login-refused-locked" in actions


def test_lockout_after_five_failures_from_an_address(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    for i in range(5):
        login(client, f"guess{i}", "not the password", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    response = login(client, "ed", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 429
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "10.1.2.4"}).status_code == 302


def test_success_clears_the_failure_count(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    for _ in range(3):
        login(client, "ed", "nope nope nope", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert login(client, "ed", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 302
    for _ in range(3):
        login(app.test_client(), "ed", "nope nope nope", environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert login(app.test_client(), "ed", environ_base={"REMOTE_ADDR": "10.0.0.4"}).status_code == 302


def test_disabled_user_cannot_sign_in_and_session_ends(signed_in, app, r):
    client = signed_in("editor", name="ed")
    users.set_disabled(r, "ed", True)
    assert client.get("/console/keywords").status_code == 302
    assert login(app.test_client(), "ed").status_code == 401


def test_next_is_kept_inside_the_console(app, r):
    make_user(r, "ed", "editor")
    client = app.test_client()
    tok = token(client)
    response = client.post("/console/login", data={"name": "ed", "password": PASSWORD, "csrf_token": tok,
                                                   "next": "https://evil.example/"}, headers=REFERER)
    assert response.headers["Location"].endswith("/console/")
    client = app.test_client()
    response = client.post("/console/login", data={"name": "ed", "password": PASSWORD, "csrf_token": token(client),
                                                   "next": "/console/sandbox"}, headers=REFERER)
    assert response.headers["Location"] == "/console/sandbox"


def test_passwords_are_argon2_hashed(r):
    make_user(r, "ed", "editor")
    stored = r.hget(users.user_key("ed"), "hash").decode()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_admin_creates_and_disables_users(signed_in, r):
    admin = signed_in("admin", name="boss")
    response = post(admin, "/console/users", {"name": "op2", "role": "operator", "password": "short"})
    assert response.status_code == 400
    assert "at least 12 characters" in response.get_data(as_text=True)
    response = post(admin, "/console/users", {"name": "op2", "role": "operator", "password": "a long enough one"})
    assert response.status_code == 302
    assert users.get(r, "op2").role == "operator"
    post(admin, "/console/users/op2/disable")
    assert users.get(r, "op2").disabled
    page = admin.get("/console/audit").get_data(as_text=True)
    assert "user-created" in page and "user-disabled" in page


# --- flask --app wsgi users ... -------------------------------------------------------------------------------

@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_create_reads_password_from_stdin(runner, r):
    result = runner.invoke(args=["users", "create", "Alice", "--role", "editor"], input="a very long password\n")
    assert result.exit_code == 0, result.output
    assert "created alice (editor)" in result.output
    assert users.authenticate(r, "alice", "a very long password") is not None


def test_cli_refuses_short_password_and_bad_role(runner, r):
    result = runner.invoke(args=["users", "create", "bob", "--role", "editor"], input="elevenchars\n")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output
    assert users.get(r, "bob") is None
    result = runner.invoke(args=["users", "create", "bob", "--role", "root"], input="a very long password\n")
    assert result.exit_code != 0


def test_cli_list_and_disable(runner, r):
    runner.invoke(args=["users", "create", "carol", "--role", "operator"], input="a very long password\n")
    runner.invoke(args=["users", "create", "dave", "--role", "admin"], input="a very long password\n")
    listed = runner.invoke(args=["users", "list"]).output
    assert "carol\toperator\tactive" in listed and "dave\tadmin\tactive" in listed
    result = runner.invoke(args=["users", "disable", "carol"])
    assert result.exit_code == 0
    assert "carol\toperator\tdisabled" in runner.invoke(args=["users", "list"]).output
    assert users.authenticate(r, "carol", "a very long password") is None
    assert runner.invoke(args=["users", "disable", "nobody"]).exit_code == 1
    actions = [e["action"] for e in audit.recent(r)]
    assert "user-disabled" in actions and actions.count("user-created") == 2
