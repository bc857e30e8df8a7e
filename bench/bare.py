"""A bare Flask endpoint returning a constant: the baseline for bench/webhook.py."""

from flask import Flask, Response

app = Flask(__name__)


@app.post("/sms")
def sms() -> Response:
    """Constant empty TwiML."""
    return Response("<?xml version='1.0' encoding='UTF-8'?>\n<Response />", mimetype="text/xml")
