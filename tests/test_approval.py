"""Approval steps on Redis (digests, authors, races), when approval is required, and the reply changes an
approver reviews."""

from __future__ import annotations

import pytest
import redis

from gateway.keywords import approval, versions
from gateway.keywords.changes import ALL_SETS, reply_changes
from gateway.keywords.reader import parse_book
from tests.conftest import ROOT
from tests.keyword_files import with_opening_hours

BOOT = (ROOT / "keywords.yaml").read_text()
FLAG_ON = BOOT.replace("\nversion: 1\n", "\nversion: 1\npublish_requires_approval: true\n", 1)
OLD_DVS = "Derbyshire Victim Services can support you as a victim of crime."


def drafted(r, text: str = BOOT.replace(OLD_DVS, "Derbyshire Victim Services can help."), by: str = "console:alice"):
    versions.save_draft(r, text, versions.live_number(r), by)
    return approval.digest(text)


# --- when approval is required ------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, live, expected", [
    (False, None, False),
    (True, None, True),
    (False, FLAG_ON, True),
    (True, FLAG_ON, True),
    (False, FLAG_ON.replace("publish_requires_approval: true", "publish_requires_approval: false"), False),
])
def test_required_by_the_setting_or_the_live_file(r, setting, live, expected):
    if live is not None:
        versions.publish(r, live, "cli", "live", BOOT)
    assert approval.required(r, setting, BOOT) is expected


def test_the_bootstrap_file_decides_before_the_first_publish(r):
    assert approval.required(r, False, FLAG_ON) is True
    versions.publish(r, BOOT, "cli", "flag off", FLAG_ON)
    assert approval.required(r, False, FLAG_ON) is False  # the live version decides, not the bootstrap


def test_the_drafts_flag_does_not_decide(r):
    versions.publish(r, FLAG_ON, "cli", "on", BOOT)
    drafted(r, BOOT)  # would turn it off
    assert approval.required(r, False, BOOT) is True


# --- steps ---------------------------------------------------------------------------------------------------

def test_a_round_from_submission_to_publication(r):
    reviewed = drafted(r)
    approval.submit(r, "console:alice", reviewed, "shorter DVS")
    draft = versions.get_draft(r)
    assert draft.submitted and draft.submitted_by == "console:alice" and draft.submitted_digest == reviewed
    returned = approval.send_back(r, "console:bob", reviewed, "say when they are open")
    assert returned.submitted_by == "console:alice"
    draft = versions.get_draft(r)
    assert not draft.submitted and (draft.returned_by, draft.comment) == ("console:bob", "say when they are open")
    approval.submit(r, "console:alice", reviewed, "shorter DVS, again")
    assert versions.get_draft(r).comment == ""  # a new submission clears the old comment
    version, source = approval.approve(r, "console:bob", reviewed, BOOT)
    assert (version.number, version.author, version.approved_by) == (1, "console:alice", "console:bob")
    assert version.message == "shorter DVS, again" and source.submitted_by == "console:alice"
    assert versions.live_number(r) == 1 and versions.get(r, 1) == version
    assert versions.get_draft(r) is None and not r.exists(versions.DRAFT_EDITORS)
    assert int(r.get(versions.SEQ)) == 1
    assert versions.publish(r, BOOT, "cli", "next", BOOT).number == 2  # numbering carries on


@pytest.mark.parametrize("step, args", [
    (approval.submit, ("m",)),
    (approval.withdraw, ()),
    (approval.send_back, ("c",)),
    (approval.approve, ()),
])
def test_every_step_is_refused_on_a_digest_it_was_not_shown(r, step, args):
    reviewed = drafted(r)
    if step is not approval.submit:
        approval.submit(r, "console:alice", reviewed, "m")
    before = r.hgetall(versions.DRAFT)
    who = "console:alice" if step is approval.withdraw else "console:bob"
    with pytest.raises(approval.DraftChanged):
        step(r, who, approval.digest("something else"), *args)
    assert r.hgetall(versions.DRAFT) == before and versions.live_number(r) is None


@pytest.mark.parametrize("step, args", [(approval.approve, ()), (approval.send_back, ("c",))])
@pytest.mark.parametrize("who", ["console:alice", "console:carol"])
def test_authors_cannot_review(r, step, args, who):
    reviewed = drafted(r)
    versions.save_draft(r, versions.get_draft(r).text, None, "console:carol")  # a second editor
    approval.submit(r, "console:dave", reviewed, "m")  # the submitter is an author too
    for author in (who, "console:dave"):
        with pytest.raises(approval.OwnDraft):
            step(r, author, reviewed, *args)
    assert versions.get_draft(r).submitted and versions.live_number(r) is None


def test_nothing_to_do_without_a_draft_or_a_submission(r):
    with pytest.raises(approval.NoDraft):
        approval.approve(r, "console:bob", approval.digest(BOOT))
    reviewed = drafted(r)
    with pytest.raises(approval.NotSubmitted):
        approval.approve(r, "console:bob", reviewed)
    approval.submit(r, "console:alice", reviewed, "m")
    with pytest.raises(approval.ApprovalError, match="already waiting"):
        approval.submit(r, "console:alice", reviewed, "m")


@pytest.mark.parametrize("message, reason", [("", "is required"), ("  \n", "is required"),
                                             ("x" * 501, "at most 500")])
def test_a_submission_says_what_changed(r, message, reason):
    reviewed = drafted(r)
    with pytest.raises(approval.ApprovalError, match=reason):
        approval.submit(r, "console:alice", reviewed, message)
    assert not versions.get_draft(r).submitted


def test_an_edit_between_the_checks_and_the_publish_wins(r, redis_url, monkeypatch):
    """Two people at once: the approval's WATCH sees the edit and the approval is refused, nothing published."""
    reviewed = drafted(r)
    approval.submit(r, "console:alice", reviewed, "m")
    other = redis.Redis.from_url(redis_url)
    real = versions.new_version

    def racing(*args, **kwargs):
        if versions.get_draft(other).submitted:
            versions.save_draft(other, versions.get_draft(other).text.replace("can help", "helps"), None,
                                "console:alice")
        return real(*args, **kwargs)

    monkeypatch.setattr(versions, "new_version", racing)
    with pytest.raises(approval.NotSubmitted):
        approval.approve(r, "console:bob", reviewed, BOOT)
    assert versions.live_number(r) is None and "helps" in versions.get_draft(r).text
    other.close()


def test_a_publish_between_the_checks_and_the_approval_wins(r, redis_url, monkeypatch):
    reviewed = drafted(r)
    approval.submit(r, "console:alice", reviewed, "m")
    other = redis.Redis.from_url(redis_url)
    real = versions.new_version

    raced: list[bool] = []

    def racing(*args, **kwargs):
        if not raced:
            raced.append(True)
            versions.publish(other, BOOT, "cli", "meanwhile", BOOT)  # calls new_version too
        return real(*args, **kwargs)

    monkeypatch.setattr(versions, "new_version", racing)
    with pytest.raises(approval.ApprovalError, match="published after this draft was started"):
        approval.approve(r, "console:bob", reviewed, BOOT)
    assert versions.live_number(r) == 1 and versions.get(r, 1).author == "cli"
    other.close()


# --- the replies an approver reviews -----------------------------------------------------------------------

DVS_REPLY = ("Derbyshire Victim Services can support you as a victim of crime. Call 0800 612 6505 or visit "
             "DerbyshireVictimServices.co.uk. Non-emergency police: 101. If you are in danger, call 999.")


def _book(old: str, new: str):
    assert old in BOOT, old
    return parse_book(BOOT.replace(old, new, 1))


@pytest.mark.parametrize("old, new, row, kind, before_sms, after_sms", [
    ("can support you as a victim of crime.", "can support you, whenever it happened.",
     ("main", "DVS", "en"), "changed", ("GSM-7", 2), ("GSM-7", 2)),
    (DVS_REPLY[:60], "It\u2019s OK: " + DVS_REPLY[:60], ("main", "DVS", "en"), "changed", ("GSM-7", 2),
     ("UCS-2", 3)),
    ("      DVS:\n", "      SCAM:\n        reply: \"Action Fraud: 0300 123 2040. In danger, call 999.\"\n      DVS:\n",
     ("main", "SCAM", "en"), "added", None, ("GSM-7", 1)),
])
def test_reply_changes_rows(old, new, row, kind, before_sms, after_sms):
    base = parse_book(BOOT)
    rows = reply_changes(base, _book(old, new))
    assert len(rows) == 1, rows
    (change,) = rows
    assert (change.set, change.what, change.language) == row and change.kind == kind
    facts = lambda info: None if info is None else (info.encoding, info.segments)  # noqa: E731
    assert facts(change.before_sms) == before_sms and facts(change.after_sms) == after_sms


def test_reply_changes_list_the_relay_texters_other_texts():
    """The approver sees a new 'not read yet' or failure wording, and a text dropped back to the built-in one."""
    base = parse_book(BOOT)
    edited = BOOT.replace("your message has not been read yet", "nobody has read your message yet", 1)
    edited = edited.replace("We could not pass your message", "Your message could not be passed", 1)
    rows = {(c.set, c.what, c.language): c for c in reply_changes(base, parse_book(edited))}
    unread = rows.pop(("main", "relay 'not read yet' text on +447800002414", "en"))
    failed = rows.pop(("main", "relay 'could not reach the control room' text on +447800002414", "en"))
    assert rows == {}
    assert unread.kind == failed.kind == "changed"
    assert "nobody has read your message yet" in unread.after and "{id}" in unread.after
    assert failed.after.startswith("Your message could not be passed") and failed.before.startswith("We could not")
    assert failed.after_sms.segments == 1
    start = BOOT.index("    # Sent once if nobody")  # the three texts and their comments, up to the blank line
    without = BOOT[:start] + BOOT[BOOT.index("\n\n", start) + 1:]
    assert all(f"    {name}:" not in without for name in ("relay_unread", "relay_failed", "relay_read"))
    gone = reply_changes(base, parse_book(without))
    assert [(c.what, c.kind) for c in gone] == [
        ("relay 'not read yet' text on +447800002414", "removed"),
        ("relay 'could not reach the control room' text on +447800002414", "removed"),
        ("relay 'your message has been read' text on +447800002414", "removed")]


def test_reply_changes_cover_fixed_texts_danger_relay_and_removals():
    base = parse_book(BOOT)
    edited = BOOT
    for words in ("For support, text one word", "Police and Crime Commissioner text service",
                  "Keep this thread open so", "This is an automatic reply"):
        assert edited.count(words) == 1, words
        edited = edited.replace(words, words + " (now)")
    new = parse_book(edited)
    kinds = {(c.set, c.what): c.kind for c in reply_changes(base, new)}
    assert kinds == {("main", "default reply"): "changed", ("main", "help reply"): "changed",
                     (ALL_SETS, "danger reply"): "changed",
                     ("main", "relay acknowledgement on +447800002414"): "changed"}
    assert reply_changes(base, base) == []
    removed = reply_changes(new, base)
    assert all(c.kind == "changed" for c in removed)
    everything = reply_changes(None, base)
    assert all(c.kind == "added" and c.before is None for c in everything)
    assert len(everything) == len(set((c.set, c.what, c.language) for c in everything)) > 5
    gone = [c for c in reply_changes(base, parse_book(BOOT.replace("      POLICE:", "      XPOLICE:")))
            if c.kind == "removed"]
    assert [(c.what, c.after) for c in gone] == [("POLICE", None)]


def test_the_last_editor_of_a_draft_saved_before_editors_were_kept_is_an_author(r):
    reviewed = drafted(r)
    r.delete(versions.DRAFT_EDITORS)
    r.hset(versions.DRAFT, mapping={"submitted_by": "console:carol", "submitted_at": 1,
                                    "submitted_digest": reviewed})
    with pytest.raises(approval.OwnDraft):
        approval.approve(r, "console:alice", reviewed, BOOT)


def test_reply_changes_show_a_closed_reply_switched_on():
    """Switching on the shipped opening hours adds the reply texters get while the helpline is closed."""
    base = parse_book(BOOT)
    rows = reply_changes(base, parse_book(with_opening_hours(BOOT)))
    assert [(c.what, c.kind) for c in rows] == [("STALKING while closed", "added")]
    assert "{opens}" in rows[0].after and "999" in rows[0].after
