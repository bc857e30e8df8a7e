"""The plain Flask + RQ design (Twilio's quickstart plus RQ's README): the yardstick for bench/webhook.py."""

import os
from pathlib import Path

import redis
import yaml
from flask import Flask, Response, abort, request
from rq import Queue
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

PREFIX = "naive"
PUBLIC_URL = os.environ["PUBLIC_URL"].rstrip("/")  # the URL Twilio signs, as configured in its console
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
r = redis.Redis.from_url(os.environ["REDIS_URL"])
replies = Queue("replies", connection=r)

keywords_file = os.environ.get("KEYWORDS_FILE", Path(__file__).resolve().parents[1] / "keywords.yaml")
main_set = yaml.safe_load(Path(keywords_file).read_text())["sets"]["main"]
REPLIES = {str(word).upper(): entry["reply"] for name, entry in main_set["keywords"].items()
           for word in (name, *entry.get("aliases", []))}
DEFAULT = main_set["default"]

app = Flask(__name__)


@app.post("/sms")
def sms() -> Response:
    """Check the signature, drop repeats and opted-out texters, queue the keyword's reply, answer empty TwiML."""
    if not validator.validate(PUBLIC_URL + request.path, request.form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    sender, ours, text = request.form["From"], request.form["To"], request.form.get("Body", "")
    fresh = r.set(f"{PREFIX}:seen:{request.form['MessageSid']}", 1, nx=True, ex=86400)
    if fresh and not r.sismember(f"{PREFIX}:optout", sender):
        words = text.split()
        reply = REPLIES.get(words[0].upper(), DEFAULT) if words else DEFAULT
        replies.enqueue("workers.sending.send_sms", sender, ours, reply)
    return Response(str(MessagingResponse()), mimetype="text/xml")
