"""Malformed and wrong-shaped input to every console route, signed in as an admin and anonymous: never a 5xx.
JSON endpoints say what is wrong with a 400."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from gateway.relay import cases
from tests.conftest import RELAY_LINE, TEXTER, inbound_form, post_signed
from tests.console.support import REFERER, make_user, token

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "console" / "templates"
HUGE = "x" * 20_000
ODD = ["", " ", HUGE, "\x00", "\x00DVS\x1b[31m", "\u202eSVD", "\U0001f642" * 40, "ＤＶＳ", "İı", "ß", "\ufeffDVS",
       "a\u0301\u0301\u0301", "\r\n\r\n\t", "<script>alert(1)</script>", "{{ 7*7 }}{% raw %}", "%s%n%x",
       "../../etc/passwd", "DVS\nHELP", "'; DROP", "-1", "1e999", "NaN", "[]", "{}", "null", "\u2028\u2029",
       "+447800002414", "82228", "\U000e0041", "\ud7ff\ue000\uffff"]
# Form fields of every console form (dynamic ones by their usual names) and some the views never read.
FIELDS = sorted({*re.findall(r'name="([A-Za-z_]+)"', "".join(p.read_text() for p in TEMPLATES.glob("*.html"))),
                 "name", "role", "password", "text", "message", "to", "source", "clear", "next", "reply_en",
                 "reply_cy", "aliases_en", "aliases_cy", "phrases_", "phrases_en", "reply_", "ack_en",
                 "default_en", "help_en", "optout_reply_en", "optin_reply_en", "danger_footer_en", "zzz-extra"}
                - {"csrf_token"})
QUERY = {"next": "https://evil.example/", "number": "\u202e+44 7911", "status": "\x00", "to": "\U0001f642",
         "source": "draft\x00", "page": "-1"}
JSON_BODIES: list[str | bytes] = [
    b"", b"{", b"\xff\xfe\x00", b"null", b"[]", b'["text"]', b'"text"', b"1", b"1e999", b"-0", b"true", b"{}",
    b'{"text": 1}', b'{"text": null}', b'{"text": ["a"]}', b'{"text": {"a": 1}}', b'{"text": true}',
    b'{"text": "ok", "extra": [1, {"a": null}]}', b'{"TEXT": "ok"}', b'{"text": "a"}{"text": "b"}',
    b'{"text": "\\ud800"}', b'{"text": "\\u0000\\u202e"}', b'{"text": "a", "text": 2}', b'{"text": NaN}',
    json.dumps({"text": HUGE * 5}).encode(), json.dumps({"text": "\U0001f642\u0301" * 500}).encode(),
    b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data", "application/json; charset=utf-16", "application/xml"]
EXTRA_METHODS = ["PUT", "PATCH", "DELETE"]
_ARG = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def segment_values(converter: str | None, options: str | None, name: str, case_id: str) -> list[str]:
    """Values for one URL argument: ones that exist, ones that do not, and odd ones."""
    odd = ["%00", "..", "x" * 3000, "\U0001f642", "%FF%FE", "İ", "a b", "%2F", "-1"]
    if converter == "any":
        return [o.strip().strip("'\"") for o in (options or "").split(",")]
    if converter == "int":
        return ["1", "0", "2", "99999999999999999999999"]
    known = {"set_name": ["main"], "name": ["DVS", "someone", "ed"], "number": ["+447800002414", "82228"],
             "case_id": [case_id, "ZZZZ"], "filename": ["console.css", "../../../etc/passwd"]}.get(name, ["x"])
    return known + ["nope"] + [quote(v, safe="%/") for v in odd]


def urls(rule, case_id: str) -> Iterator[str]:
    """Every rule's URL with its usual arguments first, then each argument in turn varied."""
    args = list(_ARG.finditer(rule.rule))
    choices = [segment_values(m.group(1), m.group(2), m.group(3), case_id) for m in args]

    def build(values: list[str]) -> str:
        out, last = [], 0
        for m, value in zip(args, values, strict=True):
            out += [rule.rule[last:m.start()], value]
            last = m.end()
        return "".join(out) + rule.rule[last:]

    usual = [c[0] for c in choices]
    yield build(usual)
    for i, values in enumerate(choices):
        for value in values[1:]:
            yield build(usual[:i] + [value] + usual[i + 1:])


def form_variants() -> Iterator[tuple[str, dict]]:
    yield "no fields", {}
    for i, value in enumerate(ODD):
        yield f"every field = ODD[{i}]", {field: value for field in FIELDS}
    yield "repeated fields", {field: ["a", "b", ""] for field in FIELDS}
    yield "only unknown fields", {"zzz": "1", "csrf_token2": "x", "__proto__": "x"}
    yield "typical", {"name": "DVS", "reply_en": "Hi", "text": "DVS", "to": "82228", "message": "m", "role": "editor",
                      "password": "a long enough password", "source": "draft", "phrases_": "knife*"}


def requests_for(rule, case_id: str) -> Iterator[tuple[str, str, dict]]:
    """(method, url, test-client keyword arguments) for every request to send to this rule."""
    methods = sorted((rule.methods or set()) | set(EXTRA_METHODS))
    all_urls = list(urls(rule, case_id))
    for method in methods:
        if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            yield method, all_urls[0], {}
            yield method, all_urls[0], {"query_string": QUERY}
            yield method, all_urls[0], {"data": b'{"text": []}', "content_type": "application/json"}
            for url in all_urls[1:]:
                yield method, url, {}
            continue
        for url in all_urls[1:]:
            yield method, url, {"data": {"text": "DVS", "name": "DVS"}}
        url = all_urls[0]
        for _, data in form_variants():
            yield method, url, {"data": data}
        for body in JSON_BODIES:
            yield method, url, {"data": body, "content_type": "application/json"}
        for content_type in CONTENT_TYPES:
            yield method, url, {"data": b'{"text": "ok"}', "content_type": content_type}
        yield method, url, {"data": b"name=%ff%fe&text=%ed%a0%80&reply_en=%c0%af", "content_type":
                            "application/x-www-form-urlencoded"}
        yield method, url, {"data": b"--x\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n",
                            "content_type": "multipart/form-data; boundary=x"}
        yield method, url, {"data": {"text": (HUGE.encode(), "a.txt")}, "content_type": "multipart/form-data"}


def console_rules(app) -> list:
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/console")]
    assert len(rules) >= 25
    # Signing out ends the session the rest of the requests use: last.
    return sorted(rules, key=lambda rule: rule.endpoint == "console.logout")


def send_everything(app, client, csrf: str, case_id: str) -> tuple[int, list[str]]:
    sent, failures = 0, []
    for rule in console_rules(app):
        for method, url, kwargs in requests_for(rule, case_id):
            kwargs = dict(kwargs)
            headers = {**REFERER, "X-CSRFToken": csrf}
            data = kwargs.get("data")
            if isinstance(data, dict):
                kwargs["data"] = {**data, "csrf_token": csrf}
            try:
                response = client.open(url, method=method, headers=headers, **kwargs)
                status = response.status_code
            except Exception as exc:  # the app raised (the test app propagates exceptions instead of a 500)
                status = f"{type(exc).__name__}: {str(exc)[:120]}"
            sent += 1
            if not isinstance(status, int) or status >= 500:
                desc = {k: (v if len(repr(v)) < 80 else repr(v)[:80] + "...") for k, v in kwargs.items()}
                failures.append(f"{method} {url[:120]} {desc} -> {status}")
    return sent, failures


@pytest.fixture
def case_id(app, r) -> str:
    post_signed(app.test_client(), "/sms", inbound_form("help, someone is outside", texter=TEXTER, to=RELAY_LINE))
    return cases.open_cases(r)[0].id


def test_no_5xx_anywhere_for_a_signed_in_admin(app, r, signed_in, case_id):
    make_user(r, "ed", "editor")
    make_user(r, "someone", "operator")
    client = signed_in("admin", name="boss")
    sent, failures = send_everything(app, client, token(client), case_id)
    assert sent > 1000
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:60])


def test_no_5xx_anywhere_anonymous(app, r, case_id):
    client = app.test_client()
    sent, failures = send_everything(app, client, token(client), case_id)
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:60])


# --- the JSON endpoint says what is wrong ----------------------------------------------------------------------

@pytest.mark.parametrize("body,content_type,reason", [
    (b"[]", "application/json", "a JSON object"),
    (b'["text"]', "application/json", "a JSON object"),
    (b'"text"', "application/json", "a JSON object"),
    (b"1", "application/json", "a JSON object"),
    (b"null", "application/json", "a JSON object"),
    (b"{", "application/json", "not valid JSON"),
    (b"[" * 50_000 + b"]" * 50_000, "application/json", "not valid JSON"),
    (b"\xff\xfe", "application/json", "not valid JSON"),
    (b'{"text": "ok"}', "text/plain", "application/json"),
    (b"{}", "application/json", "text is required"),
    (b'{"TEXT": "ok"}', "application/json", "text is required"),
    (b'{"text": 1}', "application/json", "text must be a string"),
    (b'{"text": null}', "application/json", "text must be a string"),
    (b'{"text": ["a"]}', "application/json", "text must be a string"),
    (json.dumps({"text": "a" * 5001}).encode(), "application/json", "at most 5000 characters"),
], ids=lambda value: repr(value)[:40] if isinstance(value, bytes) else None)
def test_preview_refuses_wrong_shapes_with_a_reason(signed_in, body, content_type, reason):
    client = signed_in("editor")
    response = client.post("/console/api/preview", data=body, content_type=content_type,
                           headers={**REFERER, "X-CSRFToken": token(client)})
    assert response.status_code == 400
    assert reason in response.get_json()["error"]


def test_preview_takes_odd_unicode(signed_in):
    client = signed_in("editor")
    headers = {**REFERER, "X-CSRFToken": token(client)}
    for text in ["", "\x00", "\ud800", "\U0001f642\u0301", "\u202e", "a" * 5000]:
        response = client.post("/console/api/preview", data=json.dumps({"text": text}),
                               content_type="application/json", headers=headers)
        assert response.status_code == 200, text
        assert response.get_json()["chars"] >= 0
    extra = client.post("/console/api/preview", json={"text": "hi", "other": 1}, headers=headers)
    assert extra.status_code == 200
