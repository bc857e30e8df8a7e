"""The sandbox phone remembers a language its thread picked, like a real texter, in its own key."""

from __future__ import annotations

import json

import pytest

from gateway.console import sandbox
from tests.console.support import post
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
