"""`flask --app wsgi keywords check` and `flask --app wsgi simulate`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gateway import create_app
from gateway.keywords import versions
from tests.conftest import ROOT
from tests.keyword_files import BAD_FILES, bad_file


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_check_shipped_file(runner):
    result = runner.invoke(args=["keywords", "check"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_check_reports_line_and_reason(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "keywords.yaml").read_text()
    bad.write_text(text + "\nnot_a_field: 1\n")
    result = runner.invoke(args=["keywords", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output
    assert "not_a_field" in result.output


def test_check_unreadable_file(runner, tmp_path):
    result = runner.invoke(args=["keywords", "check", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1
    assert "cannot read" in result.output


@pytest.mark.parametrize(
    "text, keyword, number",
    [("DVS", "DVS", "0800 612 6505"), ("dsv", "DVS", "0800 612 6505"), ("stalkng", "STALKING", "0808 802 0300")],
)
def test_simulate_prints_decision_and_reply(runner, r, standin, text, keyword, number):
    result = runner.invoke(args=["simulate", text, "--from", "+447911000123", "--to", "82228"])
    assert result.exit_code == 0, result.output
    assert f"keyword: {keyword}" in result.output
    assert number in result.output
    assert "SMS part" in result.output
    assert standin.requests == []
    assert r.dbsize() == 0


@pytest.mark.parametrize("sender", ["VODAFONE", "+4477009", "60777"])
def test_simulate_from_a_sender_that_cannot_be_answered(runner, sender):
    result = runner.invoke(args=["simulate", "DVS", "--from", sender])
    assert result.exit_code == 0
    assert "decision: keyword  keyword: DVS" in result.output
    assert "cannot receive SMS" in result.output and "0800 612 6505" not in result.output


def test_simulate_with_twilios_optout_type(runner):
    result = runner.invoke(args=["simulate", "Arrêt", "--optout-type", "STOP"])
    assert result.exit_code == 0
    assert "decision: optout  keyword: STOP" in result.output and "opt-out change: optout" in result.output
    assert "You will get no more texts" in result.output  # 82228 is a short code: the gateway confirms
    bad = runner.invoke(args=["simulate", "x", "--optout-type", "MAYBE"])
    assert bad.exit_code == 2 and "--optout-type" in bad.output


def test_simulate_says_which_keywords_answered(runner, r):
    result = runner.invoke(args=["simulate", "DVS"])
    assert result.exit_code == 0
    assert re.search(r"^keywords: \S*keywords\.yaml \(the bootstrap file: nothing published\)$", result.output, re.M)
    versions.publish(r, (ROOT / "keywords.yaml").read_text().replace("0800 612 6505", "0800 000 0001"), "cli", "test")
    result = runner.invoke(args=["simulate", "DVS"])
    assert "keywords: version 1, live in Redis" in result.output and "0800 000 0001" in result.output


def test_simulate_says_so_when_redis_cannot_be_reached(config):
    """Staff must not take the bootstrap file's replies for the live ones when the live version cannot be read."""
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    result = app.test_cli_runner().invoke(args=["simulate", "DVS"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("keywords: "))
    assert "Redis cannot be reached" in line and "nothing published" not in line


def test_simulate_a_file_before_it_is_published(runner, r, tmp_path):
    """Staff try their edited file, not the live version, before importing it."""
    versions.publish(r, (ROOT / "keywords.yaml").read_text(), "cli", "live")
    edited = tmp_path / "edited.yaml"
    edited.write_text((ROOT / "keywords.yaml").read_text().replace("0800 612 6505", "0800 000 0002"))
    result = runner.invoke(args=["simulate", "DVS", "--file", str(edited)])
    assert result.exit_code == 0, result.output
    assert f"keywords: {edited}" in result.output and "0800 000 0002" in result.output
    assert versions.live_number(r) == 1  # simulating publishes nothing


def test_simulate_a_refused_file_says_why(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "keywords.yaml").read_text().replace("default_set: main", "default_set: mian"))
    result = runner.invoke(args=["simulate", "DVS", "--file", str(bad)])
    assert result.exit_code == 1 and f"{bad}:" in result.output and "mian" in result.output
    assert "decision:" not in result.output


@pytest.mark.slow  # a separate process
def test_flask_command_line_end_to_end(settings_env):
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "simulate", "STALKING", "--to", "82228"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "0808 802 0300" in result.stdout


@pytest.mark.slow  # a separate process
def test_check_reports_a_broken_live_file_cleanly(settings_env, tmp_path):
    """Staff edit keywords.yaml in place and run the check: the app still loads, the check says why."""
    bad = tmp_path / "keywords.yaml"
    bad.write_text((ROOT / "keywords.yaml").read_text().replace("default_set: main", "default_set: mian"))
    env = dict(os.environ, KEYWORDS_FILE=str(bad))
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "keywords", "check"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{bad}:" in result.stderr and "mian" in result.stderr


# --- keyword files staff can break: one line naming the file and the reason, exit 1, never a traceback --------


@pytest.mark.parametrize("command", ["check", "import"])
@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_keywords_file_gets_one_line(runner, r, tmp_path, command, name):
    path = bad_file(tmp_path, name)
    result = runner.invoke(args=["keywords", command, str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    (line,) = result.output.splitlines()
    assert re.match(rf"{re.escape(str(path))}(:\d+)?: refused: .*{re.escape(BAD_FILES[name][0])}", line), line
    assert versions.live_number(r) is None


def test_import_reads_the_file_as_check_does(runner, r, tmp_path):
    path = tmp_path / "keywords.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (ROOT / "keywords.yaml").read_bytes())  # a byte order mark, as Notepad saves
    result = runner.invoke(args=["keywords", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert versions.get(r, 1).text == (ROOT / "keywords.yaml").read_text(encoding="utf-8")


@pytest.mark.slow  # separate processes
@pytest.mark.parametrize("command", ["check", "import"])
@pytest.mark.parametrize("name", ["latin1", "deep_list", "deep_mapping", "alias_bomb", "directory"])
def test_a_bad_keywords_file_gets_one_line_from_flask(settings_env, tmp_path, command, name):
    path = bad_file(tmp_path, name)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "keywords", command, str(path)],
                            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if str(path) in line]  # the rest: the app's start-up log
    assert re.match(rf"{re.escape(str(path))}(:\d+)?: refused: .*{re.escape(BAD_FILES[name][0])}", line), line
