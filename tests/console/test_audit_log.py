"""The audit log is kept by time, aggregates refused sign-ins, and unauthenticated traffic never evicts entries."""

from __future__ import annotations

import time

from gateway.console import audit
from tests.console.support import PASSWORD, REFERER, make_user, post, token

DAY = 86400


def refusals(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["action"].startswith("login-") and e["action"] != "login"]


def test_ten_thousand_refused_sign_ins_leave_earlier_entries_and_a_handful_of_aggregates(signed_in, app, r):
    admin = signed_in("admin", name="boss")
    assert post(admin, "/console/users", {"name": "ed", "role": "editor", "password": PASSWORD}).status_code == 302
    # Through the sign-in page: wrong passwords, then refusals while locked, from two addresses.
    attacker = app.test_client()
    tok = token(attacker)
    for i in range(300):
        attacker.post("/console/login", data={"name": "ed", "password": "not the password", "csrf_token": tok},
                      headers=REFERER, environ_base={"REMOTE_ADDR": "203.0.113.5" if i % 2 else "203.0.113.6"})
    # And 10,000 more the way the sign-in view records them (fast: no request each).
    for i in range(10_000):
        audit.refused(r, "ed" if i % 3 else "nobody-" + str(i), "login-refused-locked", "203.0.113.7")
    entries = audit.recent(r, count=100_000)
    assert any(e["action"] == "user-created" and e["who"] == "boss" for e in entries)
    assert any(e["action"] == "login" and e["who"] == "boss" for e in entries)
    refused = refusals(entries)
    assert len(refused) <= 12, [(e["action"], e["who"], e["addr"], e["count"]) for e in refused]
    assert sum(e["count"] for e in refused if e["action"] in ("login-failed", "login-refused-locked")) == 10_300
    biggest = max(refused, key=lambda e: e["count"])
    assert biggest["count"] >= 3000 and biggest["addr"] == "203.0.113.7"
    page = admin.get("/console/audit").get_data(as_text=True)
    assert "user-created" in page and str(biggest["count"]) in page


def test_one_entry_per_account_and_address_per_window_with_a_count(app, r):
    make_user(r, "ed", "editor")
    now = time.time()
    for _ in range(3):
        audit.refused(r, "ed", "login-failed", "10.0.0.1", now=now)
    for _ in range(2):
        audit.refused(r, "ed", "login-failed", "10.0.0.2", now=now)
    audit.refused(r, "ed", "login-failed", "10.0.0.1", now=now + audit.WINDOW)  # the next window
    counts = sorted((e["addr"], e["count"]) for e in refusals(audit.recent(r)))
    assert counts == [("10.0.0.1", 1), ("10.0.0.1", 3), ("10.0.0.2", 2)]


def test_unknown_names_share_one_entry_per_address(app, r):
    make_user(r, "ed", "editor")
    for i in range(50):
        audit.refused(r, f"guess{i}", "login-failed", "10.0.0.9")
    (entry,) = refusals(audit.recent(r))
    assert entry["count"] == 50 and entry["who"] != "guess49"
    assert "guess0" in entry["detail"]  # the first name tried is kept as an example


def test_many_addresses_are_capped_per_window(app, r):
    now = time.time()
    for i in range(audit.WINDOW_ENTRIES + 200):
        audit.refused(r, "ed", "login-failed", f"10.1.{i // 256}.{i % 256}", now=now)
    refused = refusals(audit.recent(r, count=100_000))
    assert len(refused) <= audit.WINDOW_ENTRIES + 1
    assert sum(e["count"] for e in refused) == audit.WINDOW_ENTRIES + 200


def test_entries_are_kept_by_time_not_by_count(app, r):
    with app.app_context():
        old = time.time() - (audit.MIN_KEEP_DAYS + 5) * DAY
        audit.record(r, "boss", "published", "version 1", "10.0.0.1", now=old)
        audit.record(r, "boss", "published", "version 2", "10.0.0.1", now=time.time() - (audit.MIN_KEEP_DAYS - 5) * DAY)
        for i in range(10_001):
            audit.record(r, "ed", "draft-edit", f"edit {i}", "10.0.0.2")
        details = [e["detail"] for e in audit.recent(r, count=20_000)]
    assert "version 2" in details and "edit 0" in details and "edit 10000" in details
    assert "version 1" not in details  # older than the retention: gone


def test_retention_follows_a_longer_retention_days(config, r):
    from gateway import create_app

    app = create_app({**config, "RETENTION_DAYS": str(audit.MIN_KEEP_DAYS + 30)})
    with app.app_context():
        audit.record(r, "boss", "published", "version 1", None, now=time.time() - (audit.MIN_KEEP_DAYS + 10) * DAY)
        audit.record(r, "boss", "published", "version 2", None)
        details = [e["detail"] for e in audit.recent(r)]
    assert details == ["version 2", "version 1"]


def test_recent_filters_by_action(app, r):
    for i in range(30):
        audit.record(r, "ed", "draft-edit", f"edit {i}")
    audit.record(r, "ed", "published", "version 1")
    assert [e["detail"] for e in audit.recent(r, 5, action="published")] == ["version 1"]
    assert len(audit.recent(r, 5, action="draft-edit")) == 5


def test_a_list_from_before_is_kept(app, r):
    import json

    r.lpush(audit.PREFIX + "audit", json.dumps({"at": time.time() - 60, "who": "boss", "action": "user-created",
                                                "detail": "ed role=editor", "addr": "10.0.0.1"}))
    audit.record(r, "boss", "published", "version 1")
    entries = audit.recent(r)
    assert [e["action"] for e in entries] == ["published", "user-created"]
