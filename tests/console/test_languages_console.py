"""Languages in the console: the sandbox remembers a thread's pick in its own key; the preview counts the offers."""

from __future__ import annotations

import json
import re

import pytest

from gateway.console import sandbox
from tests.console.support import REFERER, post, token
from tests.keyword_files import POLISH

DVS_EN, DVS_PL = "Victim Services: call 0800 612 6505.", "Pomoc dla ofiar: zadzwon 0800 612 6505."


@pytest.fixture
def config(config: dict, tmp_path) -> dict:
    path = tmp_path / "keywords.yaml"
    path.write_text(POLISH)
    return {**config, "KEYWORDS_FILE": str(path)}


def thread(r, name: str) -> list[dict]:
    return [json.loads(raw) for raw in r.lrange(sandbox.thread_key(name), 0, -1)]


@pytest.mark.parametrize(("pick", "then", "reply"), [
    ("POLSKI", "DVS", DVS_PL), ("ofiara", "DVS", DVS_PL), ("POLSKI", "ENGLISH DVS", DVS_EN), (None, "DVS", DVS_EN),
])
def test_sandbox_thread_remembers_a_picked_language(signed_in, r, pick, then, reply):
    client = signed_in("editor")
    if pick:
        post(client, "/console/sandbox", {"to": "82228", "text": pick})
    post(client, "/console/sandbox", {"to": "82228", "text": then})
    last = thread(r, "editor1")[-1]
    assert last["reply"] == reply
    assert r.keys("signpost:lang:*") == []  # never the real texters' store
    page = client.get("/console/sandbox").get_data(as_text=True)
    assert f"in {'pl' if reply == DVS_PL else 'en'}" in page


def test_clearing_the_thread_forgets_its_language(signed_in, r):
    client = signed_in("editor")
    post(client, "/console/sandbox", {"to": "82228", "text": "POLSKI"})
    assert r.get(sandbox.language_key("editor1")) == b"pl"
    post(client, "/console/sandbox", {"clear": "1"})
    post(client, "/console/sandbox", {"to": "82228", "text": "DVS"})
    assert thread(r, "editor1")[-1]["reply"] == DVS_EN


def test_each_user_has_their_own_sandbox_language(signed_in, r):
    first, second = signed_in("editor"), signed_in("editor", name="other")
    post(first, "/console/sandbox", {"to": "82228", "text": "POLSKI"})
    post(second, "/console/sandbox", {"to": "82228", "text": "DVS"})
    assert thread(r, "other")[-1]["reply"] == DVS_EN


@pytest.mark.parametrize(("extra", "offers"), [
    ({}, ""),
    ({"set": "main", "language": "en"}, "Po polsku: wyslij POLSKI"),
    ({"set": "main", "language": "pl"}, "English: text ENGLISH"),
    ({"set": "nope", "language": "en"}, ""),
])
def test_preview_counts_a_help_or_default_reply_with_the_offers_sent_under_it(signed_in, extra, offers):
    client = signed_in("editor")
    headers = {**REFERER, "X-CSRFToken": token(client)}
    text = "a" * (160 - len(offers))  # one part on its own; with the offers and a newline, two
    data = client.post("/console/api/preview", json={"text": text, **extra}, headers=headers).get_json()
    assert data["offers"] == offers
    assert data["segments"] == (2 if offers else 1)
    assert data["chars"] == len(text) + (len(offers) + 1 if offers else 0)


@pytest.mark.parametrize("extra", [{"set": "main"}, {"set": "main", "language": 1},
                                   {"set": ["main"], "language": "en"}])
def test_preview_refuses_half_or_odd_language_fields(signed_in, extra):
    client = signed_in("editor")
    headers = {**REFERER, "X-CSRFToken": token(client)}
    response = client.post("/console/api/preview", json={"text": "hi", **extra}, headers=headers)
    assert response.status_code == 400 and "set and language" in response.get_json()["error"]


def test_fixed_replies_page_asks_the_preview_for_each_language(signed_in):
    page = signed_in("editor").get("/console/sets/main/texts").get_data(as_text=True)
    for field in ("help", "default"):
        for lang in ("en", "pl"):
            assert re.search(rf'id="f-{field}_{lang}"[^>]*data-preview-set="main" data-preview-language="{lang}"',
                             page), (field, lang)
    assert 'id="f-optout_reply_en"' in page and "data-preview-set" not in page.split('id="f-optout_reply_en"')[1][:80]


@pytest.mark.parametrize(("aliases", "said"), [
    ("VICTIM, SUPPORT, POLSKI", "'Polski' is already used by the language pl"),
    ("VICTIM, SUPPORT, STALKER", "'STALKER' is already used by keyword STALKING"),
])
def test_editor_places_a_collision_with_a_language_word_on_the_alias_field(signed_in, aliases, said):
    client = signed_in("editor")
    form = {"name": "DVS", "aliases_en": aliases, "aliases_pl": "OFIARA, WSPARCIE",
            "reply_en": DVS_EN, "reply_pl": DVS_PL}
    response = post(client, "/console/sets/main/keywords/DVS", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<ul class="errors" id="err-aliases_en">\s*<li>Refused: ' + re.escape(said.replace("'", "&#39;")),
                     page), page[page.find("err-"):][:400]
