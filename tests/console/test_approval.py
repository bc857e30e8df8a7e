"""Two-person approval in the console: required by the setting or by the live keywords file, the author never
approves, the approver reviews every changed reply, sends back with a comment or approves (publishes)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from gateway import create_app
from gateway.console import audit
from gateway.keywords import approval, versions
from tests.conftest import ROOT
from tests.console.support import REFERER, login, make_user, post

BOOT = (ROOT / "keywords.yaml").read_text()
FLAG_ON = BOOT.replace("\nversion: 1\n", "\nversion: 1\npublish_requires_approval: true\n", 1)
DVS = "/console/sets/main/keywords/DVS"
GOOD = "Derbyshire Victim Services: call 0800 612 6505, any time. If you are in danger, call 999."
CURLY = "It\u2019s never too late: Derbyshire Victim Services, 0800 612 6505. If you are in danger, call 999."
_DIGEST = re.compile(r'name="digest" value="([0-9a-f]+)"')


@pytest.fixture(params=["setting", "keywords file"])
def source(request) -> str:
    """Where the requirement comes from: PUBLISH_REQUIRES_APPROVAL, or the live version of the keywords file."""
    return request.param


@pytest.fixture
def app(config, r, source):
    extra = {"PUBLISH_REQUIRES_APPROVAL": "true"} if source == "setting" else {}
    if source == "keywords file":
        versions.publish(r, FLAG_ON, "cli", "approval on", BOOT)
    return create_app({**config, **extra, "PREFERRED_URL_SCHEME": "https"})


@pytest.fixture
def people(app, r):
    """people(name, ...) -> signed-in editor clients."""

    def make(*names: str):
        clients = []
        for name in names:
            make_user(r, name, "editor")
            client = app.test_client()
            assert login(client, name).status_code == 302
            clients.append(client)
        return clients if len(clients) > 1 else clients[0]

    return make


def edit(client, reply: str = GOOD):
    response = post(client, DVS, {"name": "DVS", "aliases_en": "VICTIM, VICTIMS, SUPPORT", "reply_en": reply})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def page(client) -> str:
    return unescape(client.get("/console/draft").get_data(as_text=True))


def digest_seen(client) -> str:
    found = _DIGEST.search(page(client))
    assert found, "no digest on the draft page"
    return found.group(1)


def submit(client, message: str = "shorter DVS reply"):
    return post(client, "/console/draft/submit", {"message": message, "digest": digest_seen(client)})


def approve(client, digest: str | None = None, **kwargs):
    return post(client, "/console/draft/approve", {"digest": digest or digest_seen(client)}, **kwargs)


def flashes(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_publishing_directly_is_refused(people, r):
    alice = people("alice")
    live = versions.live_number(r)
    edit(alice)
    assert "Submit for approval" in page(alice) and ">Publish</button>" not in page(alice)
    keywords = unescape(alice.get("/console/keywords").get_data(as_text=True))
    assert "submit it for approval" in keywords and "Review and publish" not in keywords
    response = post(alice, "/console/draft/publish", {"message": "mine"}, follow_redirects=True)
    assert "needs a second person's approval" in flashes(response)
    assert versions.live_number(r) == live and versions.get_draft(r) is not None


@pytest.mark.parametrize("role", ["edited and submitted", "edited only", "submitted only"])
def test_no_author_of_the_draft_can_approve_it(people, r, role):
    alice, bob, carol = people("alice", "bob", "carol")
    live = versions.live_number(r)
    edit(alice)
    if role == "edited only":
        edit(bob, GOOD.replace("any time", "day or night"))
        assert submit(bob).status_code == 302
        author = alice
    elif role == "submitted only":
        assert submit(bob).status_code == 302
        author = bob
    else:
        assert submit(alice).status_code == 302
        author = alice
    assert "Approve and publish" not in page(author)
    response = approve(author)
    assert response.status_code == 403
    assert "another person must review it" in flashes(response)
    assert versions.live_number(r) == live
    assert versions.get_draft(r).submitted
    assert audit.recent(r)[0]["action"] == "approval-refused"
    # Nor may an author send it back to themselves.
    response = post(author, "/console/draft/send-back", {"digest": digest_seen(author), "comment": "fine"})
    assert response.status_code == 403 and versions.get_draft(r).submitted
    # Someone who did neither can.
    assert "Approve and publish" in page(carol)
    assert approve(carol).status_code == 302
    assert versions.live_number(r) == (live or 0) + 1


def test_the_approver_sees_every_changed_reply_with_encoding_and_parts(people, r):
    alice, bob = people("alice", "bob")
    edit(alice, CURLY)
    submit(alice)
    html = page(bob)
    row = html[html.index('data-reply="main/DVS/en"'):]
    row = row[:row.index("</tr>")]
    before, after = row.split('class="before"')[1].split('class="after"')
    assert "Derbyshire Victim Services can support you" in before
    assert re.search(r"<span data-encoding>GSM-7</span>,\s*<span data-segments>2</span> SMS parts", before)
    assert CURLY in after
    assert re.search(r"<span data-encoding>UCS-2</span>,\s*<span data-segments>2</span> SMS parts", after)
    assert html.count("data-reply=") == 1  # only the reply that changed
    assert "Submitted for approval</strong> by console:alice" in html


def test_send_back_needs_a_comment_and_the_author_sees_it(people, r):
    alice, bob = people("alice", "bob")
    edit(alice)
    submit(alice)
    response = post(bob, "/console/draft/send-back", {"digest": digest_seen(bob), "comment": "  "},
                    follow_redirects=True)
    assert "A comment for the author is required" in flashes(response)
    assert versions.get_draft(r).submitted
    comment = "Please keep the website address in the reply."
    response = post(bob, "/console/draft/send-back", {"digest": digest_seen(bob), "comment": comment})
    assert response.status_code == 302
    draft = versions.get_draft(r)
    assert not draft.submitted and draft.returned_by == "console:bob" and draft.comment == comment
    html = page(alice)
    assert "Sent back by console:bob" in html and comment in html and "Submit for approval" in html
    entry = audit.recent(r)[0]
    assert entry["action"] == "draft-sent-back" and entry["who"] == "bob"
    assert "console:alice" in entry["detail"] and comment in entry["detail"]
    # Sent back, it cannot be approved until it is submitted again.
    response = approve(bob, follow_redirects=True)
    assert "not waiting for approval" in flashes(response)
    assert versions.get_draft(r) is not None


def test_approval_publishes_with_both_names(people, app, r):
    alice, bob = people("alice", "bob")
    live = versions.live_number(r)
    edit(alice)
    submit(alice, "shorter DVS reply")
    response = approve(bob)
    assert response.status_code == 302
    version = versions.get(r, versions.live_number(r))
    assert version.number == (live or 0) + 1
    assert (version.author, version.approved_by, version.message) == ("console:alice", "console:bob",
                                                                       "shorter DVS reply")
    assert GOOD in version.diff and versions.get_draft(r) is None
    entries = audit.recent(r)
    assert entries[0]["action"] == "approved" and entries[0]["who"] == "bob"
    assert "submitted by console:alice" in entries[0]["detail"] and "console:bob" in entries[0]["detail"]
    assert any(e["action"] == "draft-submitted" and e["who"] == "alice" for e in entries)
    html = unescape(bob.get(f"/console/versions/{version.number}").get_data(as_text=True))
    assert "<dt>Approved by</dt><dd>console:bob</dd>" in html
    with app.app_context():
        from gateway.runtime import signpost

        signpost().live.expire()
        assert signpost().book.sets["main"].keywords["DVS"].replies["en"] == GOOD


def test_approval_of_a_draft_changed_since_it_was_reviewed_is_refused(people, r):
    alice, bob = people("alice", "bob")
    live = versions.live_number(r)
    edit(alice)
    submit(alice)
    reviewed = digest_seen(bob)
    # Alice withdraws, changes it and submits again while Bob's page is open.
    post(alice, "/console/draft/withdraw", {"digest": digest_seen(alice)})
    edit(alice, GOOD.replace("any time", "day or night"))
    submit(alice)
    response = approve(bob, reviewed, follow_redirects=True)
    assert "changed since you opened it" in flashes(response)
    assert versions.live_number(r) == live and versions.get_draft(r).submitted
    assert approve(bob).status_code == 302  # reviewed again: approved
    assert "day or night" in versions.get(r, versions.live_number(r)).text


def test_a_draft_changed_after_submission_loses_the_submission(people, r):
    alice, bob = people("alice", "bob")
    live = versions.live_number(r)
    edit(alice)
    submit(alice)
    text = versions.get_draft(r).text.replace("any time", "day or night")
    r.hset(versions.DRAFT, "text", text)  # changed by something other than the editor
    response = approve(bob, approval.digest(text), follow_redirects=True)
    assert "changed after it was submitted" in flashes(response)
    assert versions.live_number(r) == live and not versions.get_draft(r).submitted


@pytest.mark.parametrize("editor", ["author", "someone else"])
def test_editing_a_submitted_draft_withdraws_it(people, r, editor):
    alice, bob = people("alice", "bob")
    edit(alice)
    submit(alice)
    who = alice if editor == "author" else bob
    response = edit(who, GOOD.replace("any time", "day or night"))
    assert not versions.get_draft(r).submitted
    assert "this edit withdrew it" in flashes(who.get(response.headers["Location"]))
    assert any(e["action"] == "draft-withdrawn" for e in audit.recent(r))
    assert approve(bob if editor == "author" else alice, follow_redirects=True).status_code == 200
    assert versions.get_draft(r) is not None  # nothing was published


def test_only_an_author_withdraws(people, r):
    alice, bob = people("alice", "bob")
    edit(alice)
    submit(alice)
    response = post(bob, "/console/draft/withdraw", {"digest": digest_seen(bob)}, follow_redirects=True)
    assert "send it back with a comment" in flashes(response) and versions.get_draft(r).submitted
    assert post(alice, "/console/draft/withdraw", {"digest": digest_seen(alice)}).status_code == 302
    assert not versions.get_draft(r).submitted


def test_a_stale_draft_cannot_be_submitted(people, r):
    alice = people("alice")
    edit(alice)
    versions.publish(r, versions.live_text(r, BOOT)[1].replace("any time", "x"), "cli", "someone else", BOOT)
    response = submit(alice)
    assert "was published after this draft was started" in flashes(alice.get(response.headers["Location"]))
    assert not versions.get_draft(r).submitted


def test_restore_becomes_a_draft_that_needs_approval(people, r):
    alice, bob = people("alice", "bob")
    text = versions.live_text(r, BOOT)[1]
    old = versions.publish(r, text.replace("any time", "day or night"), "cli", "old", BOOT)
    live = versions.publish(r, text, "cli", "new", BOOT)
    versions_page = unescape(alice.get("/console/versions").get_data(as_text=True))
    assert f"Make version {old.number} the draft, to go live when another editor approves it?" in versions_page
    response = post(alice, f"/console/versions/{old.number}/restore")
    assert response.status_code == 302 and versions.live_number(r) == live.number
    assert "now the draft" in flashes(alice.get(response.headers["Location"]))
    draft = versions.get_draft(r)
    assert draft.text == old.text and draft.restored_from == old.number and draft.editors == {"console:alice"}
    assert draft.message == f"restored version {old.number}"
    submit(alice, draft.message)
    assert approve(alice).status_code == 403
    assert approve(bob).status_code == 302
    restored = versions.get(r, versions.live_number(r))
    assert restored.number == live.number + 1 and restored.text == old.text
    assert restored.restored_from == old.number and restored.approved_by == "console:bob"


def test_a_draft_that_turns_approval_off_still_needs_it(people, r, source):
    alice, bob = people("alice", "bob")
    live_number, live_text = versions.live_text(r, BOOT)
    off = live_text.replace("publish_requires_approval: true\n", "publish_requires_approval: false\n")
    off = off if off != live_text else live_text.replace("\nversion: 1\n", "\nversion: 1\npublish_requires_approval:"
                                                                          " false\n", 1)
    versions.save_draft(r, off, live_number, "console:alice")
    response = post(alice, "/console/draft/publish", {"message": "approval off"}, follow_redirects=True)
    assert "needs a second person's approval" in flashes(response)
    assert versions.live_number(r) == live_number
    submit(alice, "approval off")
    assert approve(bob).status_code == 302
    # Now the live file says false: only the setting still requires approval.
    edit(alice)
    assert ("Submit for approval" in page(alice)) is (source == "setting")


def test_keywords_import_makes_a_draft(app, r, tmp_path):
    live = versions.live_number(r)
    runner = app.test_cli_runner()
    path = tmp_path / "new.yaml"
    path.write_text(versions.live_text(r, BOOT)[1].replace("can support you as a victim of crime", "can help"))
    result = runner.invoke(args=["keywords", "import", str(path), "-m", "from file"])
    assert result.exit_code == 0, result.output
    assert "saved as the draft, not published: publishing needs approval" in result.output
    assert versions.live_number(r) == live
    draft = versions.get_draft(r)
    assert draft.by == "cli" and draft.message == "from file" and "can help" in draft.text
    assert audit.recent(r)[0]["action"] == "draft-imported"
    again = runner.invoke(args=["keywords", "import", str(path)])
    assert again.exit_code == 1 and "there is a draft in the console already" in again.output


@pytest.mark.parametrize("path", ["/console/draft/submit", "/console/draft/withdraw", "/console/draft/send-back",
                                  "/console/draft/approve"])
def test_new_actions_need_the_csrf_token(people, r, path):
    alice, bob = people("alice", "bob")
    edit(alice)
    submit(alice)
    before = r.hgetall(versions.DRAFT)
    data = {"digest": digest_seen(bob), "comment": "c", "message": "m"}
    for client in (alice, bob):
        response = client.post(path, data=data, headers=REFERER)
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert r.hgetall(versions.DRAFT) == before


# --- without the setting or the flag: publishing works as before ------------------------------------------------

@pytest.fixture
def plain(config, r):
    """An editor signed in to an app with no approval required."""
    app = create_app({**config, "PREFERRED_URL_SCHEME": "https"})
    make_user(r, "ed", "editor")
    client = app.test_client()
    assert login(client, "ed").status_code == 302
    return client


def test_without_approval_an_editor_publishes_directly(plain, r):
    edit(plain)
    html = page(plain)
    assert ">Publish</button>" in html and "Submit for approval" not in html
    assert "Review and publish the draft" in plain.get("/console/keywords").get_data(as_text=True)
    assert 'data-reply="main/DVS/en"' in html  # the changed replies are listed all the same
    response = post(plain, "/console/draft/submit",
                    {"message": "m", "digest": approval.digest(versions.get_draft(r).text)}, follow_redirects=True)
    assert "needs no approval here" in flashes(response) and not versions.get_draft(r).submitted
    assert post(plain, "/console/draft/publish", {"message": "shorter"}).status_code == 302
    version = versions.get(r, 1)
    assert versions.live_number(r) == 1 and version.author == "console:ed" and version.approved_by == ""
    assert post(plain, "/console/versions/1/restore").status_code == 302  # restore publishes at once too
    assert versions.live_number(r) == 2 and versions.get_draft(r) is None


def test_a_draft_that_turns_approval_on_is_published_directly(plain, r):
    versions.save_draft(r, FLAG_ON, None, "console:ed")
    assert post(plain, "/console/draft/publish", {"message": "approval on"}).status_code == 302
    assert versions.live_number(r) == 1
    edit(plain)  # from now on the live file requires approval
    assert "Submit for approval" in page(plain)
    post(plain, "/console/draft/publish", {"message": "mine"})
    assert versions.live_number(r) == 1


def test_keywords_import_publishes_directly(plain, config, r, tmp_path):
    path = tmp_path / "new.yaml"
    path.write_text(BOOT.replace("can support you as a victim of crime", "can help"))
    result = create_app(config).test_cli_runner().invoke(args=["keywords", "import", str(path)])
    assert result.exit_code == 0 and "published version 1" in result.output
    assert versions.get_draft(r) is None
