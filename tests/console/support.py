"""Helpers for the console tests: users, sign-in and CSRF tokens through the real pages."""

from __future__ import annotations

import re

from gateway.console import users

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(r, name: str, role: str, password: str = PASSWORD) -> users.User:
    return users.create(r, name, role, password)


def token(client, path: str = "/console/login") -> str:
    """The session's CSRF token, read from a console page as a browser would."""
    html = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


REFERER = {"Referer": "https://localhost/console/"}  # over https Flask-WTF also checks the referrer


def login(client, name: str, password: str = PASSWORD, **kwargs):
    return client.post("/console/login", data={"name": name, "password": password, "csrf_token": token(client)},
                       headers=REFERER, **kwargs)


def post(client, path: str, data: dict | None = None, **kwargs):
    """A console form POST with the session's CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": token(client)}, headers=REFERER, **kwargs)
