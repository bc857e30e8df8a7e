"""Twilio webhooks: inbound texts (`POST /sms`) and delivery status callbacks (`POST /sms/status`)."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime

import redis
from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from gateway import phone
from gateway.keywords import engine
from gateway.keywords.book import KeywordBook
from gateway.ops import logs, metrics
from gateway.runtime import Signpost, signpost
from gateway.texts import inbound, intake, languages, msglog
from gateway.texts.signature import twilio_signed

bp = Blueprint("webhook", __name__)
log = logging.getLogger("signpost.webhook")

SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
OUR_NUMBER = re.compile(r"^\+?[0-9]{3,15}$")
# Only when no keyword data can be loaded at all (readyz is 503 then): never leave a texter unanswered.
NO_KEYWORDS_REPLY = "Sorry, this service cannot answer automatically right now. If you are in danger, call 999."
STATUSES = frozenset(
    "queued sending sent delivered undelivered failed accepted scheduled read canceled receiving received".split()
)


_EMPTY = str(MessagingResponse())  # the common answer, built once
# Characters XML 1.0 forbids: TwiML holding one is not well-formed, and Twilio would drop every message in it.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` with each character XML 1.0 forbids replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def twiml(messages: list[tuple[str | None, str]] = (), status: int = 200) -> Response:
    """A TwiML answer: empty, or messages sent inline ((None, body) goes back to the texter)."""
    if not messages:
        return Response(_EMPTY, status=status, mimetype="text/xml")
    response = MessagingResponse()
    for to, body in messages:
        if to is None:
            response.message(xml_safe(body))
        else:
            response.message(xml_safe(body), to=xml_safe(to))
    return Response(str(response), status=status, mimetype="text/xml")


def read_inbound() -> inbound.Inbound | str:
    """The checked inbound text, or the reason it cannot be taken at all."""
    form = request.form
    sid = form.get("MessageSid", "").strip()
    if not SID.match(sid):
        return "missing or malformed MessageSid"
    logs.bind_message_sid(sid)
    ours = form.get("To", "").strip()
    if not OUR_NUMBER.match(ours):
        return "To is not one of our numbers"
    return inbound.Inbound(message_sid=sid, sender=phone.classify(form.get("From")), ours=ours,
                           body=form.get("Body", ""), optout_type=form.get("OptOutType") or None)


@bp.after_request
def count_answer(response: Response) -> Response:
    """Count each answer by path and HTTP status: refusals and a crash's 500 too (Flask runs this for those)."""
    if request.url_rule is not None:
        metrics.count_response(request.url_rule.rule, response.status_code)
    return response


@bp.route("/sms", methods=["POST"])
@twilio_signed
def receive_sms() -> Response:
    """Answer an inbound text: decide, queue the reply, or answer inline when Redis is down."""
    started = time.perf_counter()
    msg = read_inbound()
    if isinstance(msg, str):
        log.warning("refused inbound text: %s", msg)
        return twiml(status=400)
    sp = signpost()
    book = sp.book  # one version for the whole request, even if a publish lands meanwhile
    if not msg.sender.answerable:
        # Twilio refuses a send to it (21211): nothing goes back to the sender, but staff alerts and relay
        # forwards still do. A 200 keeps the text out of Twilio's debugger and off the fallback URL.
        log.warning("sender cannot be answered by SMS kind=%s %s", msg.sender.kind, inbound.describe(msg))
        metrics.count_unanswerable(msg.sender.kind)
    if book is None:
        log.error("no keywords loaded (keywords file refused and nothing published); fallback reply %s",
                  inbound.describe(msg))
        return twiml([(None, NO_KEYWORDS_REPLY)] if msg.texter else [])
    now = datetime.now(UTC)
    try:
        remembered = _remembered_language(sp, book, msg)
    except redis.RedisError as exc:
        # Straight to the inline answer: the intake would only wait for the same Redis again.
        decision = engine.decide(book, msg.body, msg.ours, msg.optout_type, at=now)
        return _answer_inline(sp, book, msg, decision, exc, started)
    decision = engine.decide(book, msg.body, msg.ours, msg.optout_type, at=now, language=remembered)
    ctx = intake.Context(sp.redis, sp.queues, sp.settings, book)
    try:
        outcome = intake.take(ctx, msg, decision)
    except Exception as exc:
        return _answer_inline(sp, book, msg, decision, exc, started)
    log.info(
        "inbound %s decision=%s keyword=%s match=%s danger=%s language=%s chosen=%s action=%s queue=%s ms=%.1f",
        inbound.describe(msg), decision.kind, decision.keyword, decision.match, decision.danger, decision.language,
        decision.language_chosen, outcome.action, outcome.queue, (time.perf_counter() - started) * 1000,
    )
    metrics.observe_inbound(book, msg.ours, decision, time.perf_counter() - started)
    return twiml()


def _answer_inline(sp: Signpost, book: KeywordBook, msg: inbound.Inbound, decision: engine.Decision,
                   exc: Exception, started: float) -> Response:
    """Degraded, never silent: the texter's answer straight back in the TwiML (called while handling `exc`)."""
    if isinstance(exc, redis.RedisError):
        log.error("redis unavailable (%s); answering inline %s decision=%s",
                  type(exc).__name__, inbound.describe(msg), decision.kind)
    else:
        log.exception("inbound handling failed; answering inline %s decision=%s",
                      inbound.describe(msg), decision.kind)
    metrics.observe_inbound(book, msg.ours, decision, time.perf_counter() - started)
    return twiml(inbound.inline_messages(sp.settings, book, msg, decision))


def _remembered_language(sp: Signpost, book: KeywordBook, msg: inbound.Inbound) -> str | None:
    """The language the texter picked, read only where their set offers a choice (else no round trip)."""
    config = book.number_config(msg.ours)
    if msg.texter is None or config.relay or not book.sets[config.set].offers_languages:
        return None
    return languages.recall(sp.redis, sp.settings, msg.texter)


@bp.route("/sms/status", methods=["POST"])
@twilio_signed
def receive_status() -> tuple[str, int]:
    """Record a delivery status callback for one of our outbound messages."""
    form = request.form
    sid = form.get("MessageSid", "").strip()
    status = form.get("MessageStatus", "").strip().lower()
    if not SID.match(sid) or status not in STATUSES:
        log.warning("refused status callback: sid or status malformed")
        return "", 400
    logs.bind_message_sid(sid)
    error_code = form.get("ErrorCode", "").strip() or None
    if error_code is not None and not error_code.isdigit():
        error_code = None
    sp = signpost()
    try:
        msglog.record_status(sp.redis, sp.settings, sid, status, error_code)
    except redis.RedisError as exc:
        # 503: Twilio tries the callback again later rather than losing the status.
        log.error("redis unavailable (%s); status %s for %s not recorded", type(exc).__name__, status, sid)
        return "", 503
    log.info("status sid=%s status=%s error=%s", sid, status, error_code)
    return "", 204
