"""The real twilio REST client, pointed at TWILIO_API_BASE_URL when set."""

from __future__ import annotations

import functools

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

HTTP_TIMEOUT = 15.0


@functools.lru_cache(maxsize=4)
def twilio_client(account_sid: str, auth_token: str, base_url: str = "") -> Client:
    """One client per credentials in each worker process, so HTTP connections are kept alive between sends."""
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT))
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    return client
