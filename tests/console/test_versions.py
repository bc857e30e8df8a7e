"""Published versions: publish, history, diff, restore, export/import, and hot reload in every process."""

from __future__ import annotations

import time

import pytest
import redis
from rq import Queue

from gateway import create_app, sending
from gateway.keywords import engine, versions
from gateway.keywords.problems import KeywordFileError
from tests.conftest import ROOT, SHORT_CODE, TEXTER, inbound_form, post_signed

BOOT = (ROOT / "keywords.yaml").read_text()
OLD = "Derbyshire Victim Services can support you as a victim of crime."
NEW = "Derbyshire Victim Services is here for you, whenever the crime happened."


def changed(text: str = BOOT, old: str = OLD, new: str = NEW) -> str:
    assert old in text
    return text.replace(old, new)


def dvs_reply(book) -> str:
    return engine.decide(book, "DVS", SHORT_CODE).reply


def test_publish_creates_numbered_immutable_versions(r):
    v1 = versions.publish(r, changed(), "console:ed", "new DVS wording", BOOT)
    v2 = versions.publish(r, BOOT, "console:ed", "back", BOOT)
    assert (v1.number, v2.number) == (1, 2)
    assert versions.live_number(r) == 2
    assert [v.number for v in versions.history(r)] == [2, 1]
    stored = versions.get(r, 1)
    assert stored.text == changed() and stored.author == "console:ed" and stored.message == "new DVS wording"
    assert len(stored.diff.splitlines()) < 15  # a unified diff of the change, not a copy of the file
    assert any(line.startswith("-") and OLD in line for line in stored.diff.splitlines())
    assert any(line.startswith("+") and "is here for you" in line for line in stored.diff.splitlines())
    assert "--- keywords.yaml" in stored.diff and "+++ version 1" in stored.diff
    assert "--- version 1" in versions.get(r, 2).diff


def test_refused_text_is_never_published(r):
    with pytest.raises(KeywordFileError) as caught:
        versions.publish(r, changed(new="Call +44 12 now."), "cli", "bad number", BOOT)
    assert "not a valid UK number" in str(caught.value)
    assert versions.live_number(r) is None and versions.history(r) == []


def test_restore_is_a_new_version(r):
    versions.publish(r, changed(), "console:ed", "v1", BOOT)
    versions.publish(r, changed(new="Something else entirely. Call 101."), "console:ed", "v2", BOOT)
    restored = versions.restore(r, 1, "console:boss", BOOT)
    assert restored.number == 3 and restored.restored_from == 1
    assert restored.message == "restored version 1"
    assert versions.get(r, 3).text == versions.get(r, 1).text
    assert versions.live_number(r) == 3
    assert versions.restore(r, 99, "console:boss", BOOT) is None


def test_web_process_serves_a_new_version_within_two_seconds(config, r):
    web_a, web_b = create_app(config), create_app(config)  # two web processes' apps on one Redis
    with web_b.app_context():
        from gateway.runtime import signpost

        assert OLD in dvs_reply(signpost().book)
    versions.publish(r, changed(), "cli", "new wording", BOOT)
    started = time.monotonic()
    with web_b.app_context():
        while NEW not in dvs_reply(signpost().book):
            assert time.monotonic() - started < 2.0
            time.sleep(0.05)
        assert signpost().live.number == 1
    del web_a


def test_webhook_answers_with_the_published_text(app, client, r, run_jobs, standin):
    versions.publish(r, changed(), "cli", "new wording", BOOT)
    app.extensions["signpost"].live.expire()  # as if its once-a-second check were due
    assert post_signed(client, "/sms", inbound_form("dvs")).status_code == 200
    run_jobs()
    assert NEW in standin.messages[-1]["body"]


def test_a_new_process_starts_on_the_published_version(config, r):
    versions.publish(r, changed(), "cli", "new wording", BOOT)
    app = create_app(config)  # keywords.yaml is the bootstrap; the published version wins on first use
    with app.app_context():
        from gateway.runtime import signpost

        assert NEW in dvs_reply(signpost().book)
        assert signpost().live.describe() == "version 1"


def test_redis_down_keeps_the_last_good_book(r):
    from gateway.keywords.reader import parse_book

    live = versions.LiveBook(r, parse_book(BOOT), every=0)
    versions.publish(r, changed(), "cli", "v1", BOOT)
    assert NEW in dvs_reply(live.get())
    broken = versions.LiveBook(redis.Redis(port=1, socket_connect_timeout=0.2), parse_book(BOOT), every=0)
    broken.book, broken.number = live.book, live.number
    assert NEW in dvs_reply(broken.get())  # no exception, last good book
    r.hset(versions.version_key(1), "text", "not: [valid")
    r.set(versions.LIVE, 2)  # a live id with no stored version
    assert NEW in dvs_reply(live.get())


def test_checks_redis_at_most_once_a_period(r):
    from gateway.keywords.reader import parse_book

    assert versions.LiveBook(r, None).every == versions.CHECK_EVERY == 1.0
    live = versions.LiveBook(r, parse_book(BOOT), every=0.2)
    live.get()
    versions.publish(r, changed(), "cli", "v1", BOOT)
    assert OLD in dvs_reply(live.get())  # cached: no GET within the period
    time.sleep(0.25)
    assert NEW in dvs_reply(live.get())


# --- flask --app wsgi keywords export / import ----------------------------------------------------------------

def test_export_and_import(app, r, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "live.yaml"
    result = runner.invoke(args=["keywords", "export", str(out)])
    assert result.exit_code == 0
    assert out.read_text() == BOOT  # nothing published: the bootstrap file
    edited = tmp_path / "edited.yaml"
    edited.write_text(changed())
    result = runner.invoke(args=["keywords", "import", str(edited), "-m", "from file"])
    assert result.exit_code == 0, result.output
    assert "published version 1" in result.output
    assert versions.get(r, 1).message == "from file"
    result = runner.invoke(args=["keywords", "export"])
    assert NEW in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(changed(new="Ring +44 12 now."))
    result = runner.invoke(args=["keywords", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output and "not a valid UK number" in result.output
    assert versions.live_number(r) == 1


# --- a separately started worker process ------------------------------------------------------------------------

def _send_three(q: Queue, standin, tag: str) -> float:
    """Queue three sends from the short code; seconds from the first to the last reaching the stand-in."""
    before = len(standin.messages)
    for i in range(3):
        sending.enqueue_send(q, TEXTER, SHORT_CODE, f"pacing {tag} {i}", f"{tag}-{i}")
    sent = standin.wait_for(before + 3, timeout=20)[before:]
    times = sorted(m["t"] for m in sent)
    return times[-1] - times[0]


@pytest.mark.slow  # a separate process
def test_worker_process_serves_a_new_version_within_two_seconds(settings_env, r, standin, worker_process):
    """Worker processes answer from the live version too: the pacer's sender caps come from it."""
    q = sending.queue(sending.REPLIES, r)
    assert _send_three(q, standin, "bootstrap") < 0.5  # 30 a second, from keywords.yaml
    versions.publish(r, BOOT.replace("rate_per_second: 30", "rate_per_second: 1"), "cli", "1 a second", BOOT)
    time.sleep(2.0)
    assert _send_three(q, standin, "published") >= 1.9  # 1 a second: about a second apart
