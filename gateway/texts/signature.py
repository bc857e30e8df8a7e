"""Twilio webhook signature check, as one decorator."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from flask import abort, request
from twilio.request_validator import RequestValidator, compare, remove_port

from gateway.runtime import signpost

log = logging.getLogger("signpost.signature")


def called_url() -> str:
    """The URL Twilio called: PUBLIC_URL plus path and query (development without PUBLIC_URL: the request's URL).

    Never the Host, scheme or X-Forwarded-* the client sent: a request signed for another deployment that
    shares the auth token must not pass. settings.validate makes PUBLIC_URL mandatory in production.
    """
    public = signpost().settings.public_url
    if not public:
        return request.url
    query = request.query_string.decode("latin-1")
    return public.rstrip("/") + request.path + (f"?{query}" if query else "")


def signed(validator: RequestValidator, url: str, params: Mapping[str, Any], signature: str) -> bool:
    """RequestValidator.validate's answer, its first check tried alone first.

    `validate` always computes the signature over the URL both without and with its port; the first settles
    every request signed for the URL as Twilio was given it, so that one is computed first and `validate`
    runs only when it does not match. A request is accepted exactly when `validate` would accept it.
    """
    first = validator.compute_signature(remove_port(urlparse(url)), params)
    return compare(first, signature) or validator.validate(url, params, signature)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) any request whose X-Twilio-Signature does not match; nothing else runs."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        token = signpost().settings.twilio_auth_token
        if not token:
            # settings.validate() makes a token mandatory in production; only development gets here.
            return view(*args, **kwargs)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not signed(RequestValidator(token), called_url(), request.form, signature):
            log.warning(
                "refused webhook: %s signature path=%s remote=%s",
                "missing" if not signature else "wrong",
                request.path,
                request.remote_addr,
            )
            abort(403)
        return view(*args, **kwargs)

    return checked
