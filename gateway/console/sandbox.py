"""The sandbox phone: text any of our numbers and see the exact reply from the live version or the draft, now
or at a moment picked in London time (for opening hours).

Nothing is sent, queued or written to the message log; the thread is kept for an hour under the user's name,
and so is a language the thread picked, remembered like a real texter's (in its own key, not the real store).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gateway.console import bp
from gateway.console.auth import role_required
from gateway.keywords import engine, hours, sms, versions
from gateway.keywords.book import KeywordBook
from gateway.keywords.reader import parse_book
from gateway.redisdb import PREFIX
from gateway.runtime import signpost

KEEP = 12


def thread_key(name: str) -> str:
    return f"{PREFIX}sandbox:{name}"


def language_key(name: str) -> str:
    """The language the user's sandbox thread picked."""
    return f"{PREFIX}sandbox-lang:{name}"


def book_for(source: str) -> tuple[KeywordBook, str]:
    """The book to answer with and its label: the draft (if any) or the live version this process serves."""
    sp = signpost()
    if source == "draft":
        current = versions.get_draft(sp.redis)
        if current is not None:
            return parse_book(current.text, "draft"), "draft"
    sp.live.expire()
    book = sp.book
    return book, f"live {sp.live.describe()}"


def answer(book: KeywordBook, text: str, to: str, at: datetime, language: str | None = None) -> dict[str, Any]:
    """What the gateway would send back at the moment `at`, part by part, and why (`language`: the thread's
    earlier pick)."""
    decision = engine.decide(book, text, to, at=at, language=language)
    if decision.kind == "relay":
        reply = f"{book.relay_ack(to)} Ref: XXXX"
        note = "Relay line: the text becomes a case forwarded to the control room (not in the sandbox)."
    elif decision.reply is None:
        reply = None
        note = f"{decision.kind}: recorded for this number; Twilio answers {decision.keyword} itself here"
    else:
        reply = decision.reply
        note = {"keyword": f"keyword {decision.keyword} ({decision.match})", "help": "help reply",
                "default": "default reply", "optout": f"{decision.keyword}: opt-out recorded, confirmed by the gateway",
                "optin": f"{decision.keyword}: opt-in recorded, confirmed by the gateway"}.get(decision.kind,
                                                                                          decision.kind)
        if decision.danger:
            note += f"; danger phrase: {decision.danger_phrase}"
        if decision.language_chosen:
            note += f"; picked language {decision.language_chosen}, remembered for this thread"
        if book.sets[book.number_config(to).set].offers_languages:
            note += f"; in {decision.language}"
        if decision.open is not None:
            note += f"; {decision.keyword} is {hours.state(decision.open, decision.opens, at)} at this moment"
    info = sms.analyse(reply) if reply else None
    return {"reply": reply, "note": note, "parts": sms.split_parts(reply) if reply else [],
            "encoding": info.encoding if info else None, "chars": info.chars if info else 0,
            "language": decision.language, "language_chosen": decision.language_chosen}


@bp.route("/sandbox", methods=["GET", "POST"])
@role_required("editor")
def sandbox() -> ResponseReturnValue:
    r = signpost().redis
    key = thread_key(current_user.name)
    has_draft = versions.get_draft(r) is not None
    book = signpost().book
    numbers = list(book.numbers)
    if request.method == "POST":
        if request.form.get("clear"):
            r.delete(key, language_key(current_user.name))
            return redirect(url_for("console.sandbox"))
        to = request.form.get("to", "").strip() or (numbers[0] if numbers else "82228")
        text = request.form.get("text", "")[:1600]
        source = request.form.get("source", "live")
        chosen = request.form.get("at", "").strip()[:hours.MAX_MOMENT]
        try:
            at = hours.moment(chosen) if chosen else datetime.now(UTC)
        except ValueError as exc:
            flash(f"Moment: {exc}", "error")
            return redirect(url_for("console.sandbox", to=to, source=source, at=chosen))
        used, label = book_for(source)
        remembered = r.get(language_key(current_user.name))
        moment = f"{at.astimezone(hours.LONDON):%a %d %b %Y %H:%M}" + ("" if chosen else " (now)")
        exchange = {"to": to, "text": text, "source": label, "at": time.time(), "moment": moment,
                    **answer(used, text, to, at, remembered.decode() if remembered else None)}
        with r.pipeline(transaction=False) as p:
            p.rpush(key, json.dumps(exchange))
            p.ltrim(key, -KEEP, -1)
            p.expire(key, 3600)
            if exchange["language_chosen"]:
                p.set(language_key(current_user.name), exchange["language_chosen"], ex=3600)
            p.execute()
        return redirect(url_for("console.sandbox", to=to, source=source, at=chosen or None) + "#latest")
    thread = [json.loads(raw) for raw in r.lrange(key, 0, -1)]
    return render_template("sandbox.html", thread=thread, numbers=numbers, has_draft=has_draft,
                           to=request.args.get("to", numbers[0] if numbers else ""),
                           source=request.args.get("source", "live"), at=request.args.get("at", "")[:hours.MAX_MOMENT])
