"""Two-person approval: a draft is submitted by one of its authors and published by someone who did not edit it.

Required when the setting PUBLISH_REQUIRES_APPROVAL is true or the live keywords file says
`publish_requires_approval: true`. The live file decides, never the draft: a draft that turns the flag off
needs approval like any other.

Every step names the digest of the draft text its user was shown, so an approver publishes exactly what they
reviewed: a draft changed since then is refused. Editing a submitted draft withdraws the submission
(versions.save_draft). Steps run under Redis WATCH on the draft, its editors, the live id and the version
counter, so two people acting at once cannot both succeed on the same draft.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

import redis
import yaml

from gateway.keywords import versions
from gateway.keywords.changes import ReplyChange, reply_changes
from gateway.keywords.problems import KeywordFileError
from gateway.keywords.reader import parse_book
from gateway.keywords.versions import Draft

__all__ = ["ReplyChange", "reply_changes", "required", "submit", "withdraw", "send_back", "approve", "digest"]

log = logging.getLogger("signpost.approval")

ATTEMPTS = 5
MAX_MESSAGE = 500
MAX_COMMENT = 2000
Pipeline = redis.client.Pipeline


class ApprovalError(Exception):
    """A step is refused; the message says why, to staff."""


class NoDraft(ApprovalError):
    """There is no draft."""


class NotSubmitted(ApprovalError):
    """The draft is not waiting for approval."""


class OwnDraft(ApprovalError):
    """The user edited or submitted the draft, so cannot review it."""


class DraftChanged(ApprovalError):
    """The draft is not the text the user was shown."""


def digest(text: str) -> str:
    """The digest naming one draft text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def file_requires(text: str) -> bool:
    """Whether a keywords text says publish_requires_approval: true (an unreadable one is taken to)."""
    try:
        return versions.load_structure(text).get("publish_requires_approval") is True
    except yaml.YAMLError:
        return True


def required(r: redis.Redis, setting: bool, bootstrap: str) -> bool:
    """Whether publishing needs a second person: the setting, or the live version's (or bootstrap's) flag."""
    return setting or file_requires(versions.live_text(r, bootstrap)[1])


def _draft(p: Pipeline, reviewed: str, submitted: bool | None) -> Draft:
    """The watched draft, refused unless it is the text reviewed and (when given) in the submitted state."""
    draft = versions.get_draft(p)
    if draft is None:
        raise NoDraft("There is no draft.")
    if submitted is True and not draft.submitted:
        raise NotSubmitted("The draft is not waiting for approval (it was withdrawn, sent back or edited).")
    if submitted is False and draft.submitted:
        raise ApprovalError(f"The draft is already waiting for approval (submitted by {draft.submitted_by}).")
    if reviewed != digest(draft.text):
        raise DraftChanged("The draft changed since you opened it: review it again.")
    return draft


def _stale(p: Pipeline, draft: Draft) -> None:
    live = versions.live_number(p)
    if draft.base != live:
        raise ApprovalError(f"Version {live} was published after this draft was started: discard the draft and "
                            "redo the edits on the new version.")


def _reviewer(draft: Draft, by: str) -> None:
    if by in draft.editors or by == draft.submitted_by:
        raise OwnDraft("You edited or submitted this draft: another person must review it.")


def _run(r: redis.Redis, step: Callable[[Pipeline], Callable[[Pipeline], None]]) -> None:
    """Run `step` (checks on the watched keys, returning the writes) until its writes commit untouched."""
    for _ in range(ATTEMPTS):
        with r.pipeline() as p:
            try:
                p.watch(versions.DRAFT, versions.DRAFT_EDITORS, versions.LIVE, versions.SEQ)
                writes = step(p)
                p.multi()
                writes(p)
                p.execute()
                return
            except redis.WatchError:
                continue
    raise ApprovalError("Someone else changed the draft at the same moment: try again.")


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise ApprovalError(f"{what} is required.")
    if len(value) > limit:
        raise ApprovalError(f"{what} must be at most {limit} characters.")
    return value


def submit(r: redis.Redis, by: str, reviewed: str, message: str) -> None:
    """Ask for approval of the draft `by` reviewed (digest `reviewed`), saying what changed."""
    message = _text(message, "Say what changed: the message", MAX_MESSAGE)

    def step(p: Pipeline) -> Callable[[Pipeline], None]:
        draft = _draft(p, reviewed, submitted=False)
        _stale(p, draft)

        def writes(w: Pipeline) -> None:
            w.hset(versions.DRAFT, mapping={"submitted_by": by, "submitted_at": time.time(),
                                            "submitted_digest": reviewed, "message": message})
            w.hdel(versions.DRAFT, *versions.RETURN)
            w.sadd(versions.DRAFT_EDITORS, by)  # whoever submits is an author too

        return writes

    _run(r, step)


def withdraw(r: redis.Redis, by: str, reviewed: str) -> None:
    """Take the draft back from approval (its authors only; a reviewer sends it back)."""

    def step(p: Pipeline) -> Callable[[Pipeline], None]:
        draft = _draft(p, reviewed, submitted=True)
        if by not in draft.editors:
            raise ApprovalError("Only someone who edited the draft can withdraw it: send it back with a comment.")
        return lambda w: w.hdel(versions.DRAFT, *versions.SUBMISSION)

    _run(r, step)


def send_back(r: redis.Redis, by: str, reviewed: str, comment: str) -> Draft:
    """Return the submitted draft to its authors with `comment` saying what to change; the draft as it was."""
    comment = _text(comment, "A comment for the author", MAX_COMMENT)
    returned: list[Draft] = []

    def step(p: Pipeline) -> Callable[[Pipeline], None]:
        draft = _draft(p, reviewed, submitted=True)
        _reviewer(draft, by)
        returned[:] = [draft]

        def writes(w: Pipeline) -> None:
            w.hdel(versions.DRAFT, *versions.SUBMISSION)
            w.hset(versions.DRAFT, mapping={"returned_by": by, "returned_at": time.time(), "comment": comment})

        return writes

    _run(r, step)
    return returned[0]


def approve(r: redis.Redis, by: str, reviewed: str, bootstrap: str = "") -> tuple[versions.Version, Draft]:
    """Publish the submitted draft `by` reviewed, as its submitter's version approved by `by`; the version and
    the draft it came from."""
    done: list[tuple[versions.Version, Draft]] = []

    def step(p: Pipeline) -> Callable[[Pipeline], None]:
        draft = versions.get_draft(p)
        if draft is not None and draft.submitted and draft.submitted_digest != digest(draft.text):
            # Changed without going through save_draft: what was submitted is not there any more.
            p.multi()
            p.hdel(versions.DRAFT, *versions.SUBMISSION)
            p.execute()
            raise DraftChanged("The draft changed after it was submitted: its author must submit it again.")
        draft = _draft(p, reviewed, submitted=True)
        _reviewer(draft, by)
        _stale(p, draft)
        try:
            parse_book(draft.text, "draft")
        except KeywordFileError as exc:  # a checked draft cannot fail, but never publish unchecked text
            raise ApprovalError(f"Refused: {exc}") from None
        number = int(p.get(versions.SEQ) or 0) + 1
        version = versions.new_version(p, number, draft.text, draft.submitted_by, draft.message, bootstrap,
                                       draft.restored_from, approved_by=by)
        done[:] = [(version, draft)]

        def writes(w: Pipeline) -> None:
            versions.store(w, version)
            w.set(versions.SEQ, number)
            w.delete(versions.DRAFT, versions.DRAFT_EDITORS)

        return writes

    _run(r, step)
    version, draft = done[0]
    log.info("keywords version %s submitted by %s, approved and published by %s", version.number,
             draft.submitted_by, by)
    return done[0]
