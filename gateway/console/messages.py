"""The message log page: recent texts in and out, masked numbers, filter by number and status."""

from __future__ import annotations

import time

from flask import render_template, request
from flask.typing import ResponseReturnValue

from gateway import phone
from gateway.console import bp
from gateway.console.auth import role_required
from gateway.runtime import signpost
from gateway.texts import msglog
from gateway.texts.webhook import STATUSES

EXTRA_STATUSES = ("queued", "duplicate", "opted-out", "unanswerable", "optout-recorded", "optin-recorded",
                  "case-opened", "case-threaded")


@bp.get("/messages")
@role_required("editor", "operator")
def messages() -> ResponseReturnValue:
    settings = signpost().settings
    raw_number = request.args.get("number", "").strip()
    status = request.args.get("status", "").strip() or None
    number_hash = None
    error = None
    if raw_number:
        sender = phone.classify(raw_number)
        if sender.kind == "invalid":
            error = "Not a phone number or sender ID."
        else:
            # Entries are keyed by the sender as shown to staff: E.164 for numbers, else as Twilio gave it.
            number_hash = msglog.number_digest(settings, sender.shown)
    entries = [] if error else msglog.recent(signpost().redis, settings, number_hash, status)
    statuses = sorted(STATUSES) + list(EXTRA_STATUSES)
    return render_template("messages.html", entries=entries, number=raw_number, status=status or "",
                           statuses=statuses, error=error, now=time.time(),
                           retention=settings.retention_days)
