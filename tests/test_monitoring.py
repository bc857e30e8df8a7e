"""The Grafana dashboard and the Prometheus alert rules in deploy/, checked against what GET /metrics exposes.

A metric or label renamed in gateway/ops/metrics.py without the dashboard and the rules following fails
here. promtool (Debian's `prometheus` package) checks the rules and runs their unit tests,
deploy/prometheus/alerts.test.yml; without it those tests are skipped, unless SIGNPOST_REQUIRE_PROMTOOL is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import Settings
from tests.conftest import RELAY_LINE, SHORT_CODE, inbound_form, post_signed

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "signpost.json"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"
RUNBOOK = ROOT / "docs" / "monitoring.md"

# The alerts the on-call engineer relies on (docs/monitoring.md); more may be added, none silently dropped.
REQUIRED_ALERTS = {"SignpostRelayCaseUnacknowledged", "SignpostNoWorkers", "SignpostFailedJobsGrowing",
                   "SignpostWebhook5xx", "SignpostRedisDown"}
SEVERITIES = {"critical", "warning"}
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
DURATION = re.compile(r"^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$")
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance"}

# PromQL words that look like names but are not metrics.
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GRAFANA_VARIABLE = re.compile(r"\$\{?\w+\}?")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?")
_SELECTOR = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, labels and Grafana variables left out)."""
    text = _GRAFANA_VARIABLE.sub("", _STRING.sub('""', expr))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _LABEL_LIST.sub(" ", text)
    return {m.group(1) for m in _NAME.finditer(text) if not m.group(2) and m.group(1).lower() not in _KEYWORDS}


def selector_labels(expr: str) -> dict[str, set[str]]:
    """Label names matched on each metric in `name{...}` selectors."""
    found: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(_GRAFANA_VARIABLE.sub("", expr)):
        found.setdefault(name, set()).update(_MATCHER.findall(_STRING.sub('""', matchers)))
    return found


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every dashboard target and every alert rule."""
    out = [(f"dashboard panel {p['id']} {p['title']!r} target {t['refId']}", t["expr"])
           for p in dashboard()["panels"] for t in p.get("targets", [])]
    out += [(f"rule {r['alert']}", r["expr"]) for r in rules()]
    return out


def test_metric_names_are_found_in_promql():
    assert metric_names('sum by (le) (rate(signpost_a_bucket{x="y"}[$__rate_interval]))') == {"signpost_a_bucket"}
    assert metric_names("max without (instance) (signpost_b) == 0 or absent(signpost_c)") == {"signpost_b",
                                                                                             "signpost_c"}
    assert metric_names('histogram_quantile(0.99, sum(rate(m_bucket{a=~"5.."}[5m])) by (le)) > 1e3') == {"m_bucket"}
    assert metric_names("delta(signpost_d[15m] offset 5m) > 0 unless on(job) up") == {"signpost_d", "up"}
    assert selector_labels('rate(x_total{path="/sms", status=~"5.."}[5m]) / y{a!="b,c"}') == {
        "x_total": {"path", "status"}, "y": {"a"}}


@pytest.fixture
def exposed(client, run_jobs, standin) -> dict[str, set[str]]:
    """Sample name -> label names, from a real scrape after a keyword text, a relay text and their sends."""
    assert post_signed(client, "/sms", inbound_form("DVS", to=SHORT_CODE)).status_code == 200
    assert post_signed(client, "/sms", inbound_form("I need help", to=RELAY_LINE)).status_code == 200
    standin.fail_next(1, status=500, code=20500)  # a retry, so that outcome has a series too
    run_jobs()
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    return samples


def test_every_metric_in_the_dashboard_and_rules_is_exposed(exposed):
    used = [(where, name) for where, expr in expressions() for name in metric_names(expr)]
    assert len({name for _, name in used}) >= 15  # the parser found the dashboard's and the rules' metrics
    missing = [f"{where}: {name}" for where, name in used if name not in exposed]
    assert not missing, "not in GET /metrics:\n" + "\n".join(missing)
    foreign = [f"{where}: {name}" for where, name in used if not name.startswith("signpost_")]
    assert not foreign, "only signpost's own metrics, so this test covers every one:\n" + "\n".join(foreign)
    unknown = [f"{where}: {name}{{{label}}}" for where, expr in expressions()
               for name, labels in selector_labels(expr).items()
               for label in labels - exposed.get(name, set()) - TARGET_LABELS]
    assert not unknown, "label not on the exposed metric:\n" + "\n".join(unknown)


def test_rule_unit_tests_feed_exposed_metrics(exposed):
    """The series alerts.test.yml feeds the rules are named and labelled as /metrics names and labels them."""
    wrong = []
    for group in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for series in group["input_series"]:
            name, labels = selector_labels(series["series"]).popitem()
            if name not in exposed or labels - exposed[name] - TARGET_LABELS:
                wrong.append(f"{group['name']}: {series['series']}")
    assert not wrong, "\n".join(wrong)


def test_alert_rules_schema():
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"} and doc["groups"]
    anchors = {re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
               for line in RUNBOOK.read_text().splitlines() if line.startswith("#")}
    names = set()
    for group in doc["groups"]:
        assert isinstance(group["name"], str) and group["name"]
        assert set(group) <= {"name", "interval", "limit", "rules"} and group["rules"]
        for rule in group["rules"]:
            where = rule.get("alert", rule)
            assert set(rule) <= RULE_KEYS, where
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", rule["alert"]), where
            assert isinstance(rule["expr"], str) and rule["expr"].strip(), where
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    assert isinstance(rule[key], str) and rule[key] and DURATION.fullmatch(rule[key]), (where, key)
            assert "for" in rule, where
            assert rule["labels"]["severity"] in SEVERITIES, where
            assert all(isinstance(v, str) for v in rule["labels"].values()), where
            annotations = rule["annotations"]
            assert annotations["summary"].strip() and annotations["description"].strip(), where
            page, _, anchor = annotations["runbook"].partition("#")
            assert page == "docs/monitoring.md" and anchor in anchors, (where, annotations["runbook"])
            names.add(rule["alert"])
    assert REQUIRED_ALERTS <= names


def test_relay_threshold_follows_the_escalation_settings():
    """Second tier is texted at RELAY_ESCALATE_AFTER x (RELAY_ESCALATE_TIERS_AFTER + 1): the alert is past that."""
    (rule,) = [r for r in rules() if r["alert"] == "SignpostRelayCaseUnacknowledged"]
    threshold = float(re.search(r">\s*([0-9.]+)\s*$", rule["expr"]).group(1))
    defaults = Settings()
    assert threshold == defaults.relay_escalate_after * (defaults.relay_escalate_tiers_after + 1)
    assert "signpost_relay_oldest_unacknowledged_age_seconds" in rule["expr"]


def test_every_alert_has_unit_tests_firing_and_quiet():
    fired: set[str] = set()
    quiet: set[str] = set()
    doc = yaml.safe_load(RULE_TESTS.read_text())
    assert doc["rule_files"] == ["alerts.yml"]
    for group in doc["tests"]:
        for case in group.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {r["alert"] for r in rules()}
    assert names <= fired, f"never shown firing: {names - fired}"
    assert names <= quiet, f"never shown quiet: {names - quiet}"


def test_dashboard_is_importable():
    board = dashboard()
    assert board["uid"] == "signpost" and board["title"] and board["id"] is None
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    (source,) = board["__inputs"]
    assert source["name"] == "DS_PROMETHEUS" and source["type"] == "datasource" and source["pluginId"] == "prometheus"
    panels = board["panels"]
    assert panels
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    datasource = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    for panel in panels:
        where = (panel["id"], panel.get("title"))
        assert panel["title"] and panel["type"] in {"timeseries", "stat"}, where
        assert panel["datasource"] == datasource, where
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["targets"], where
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), where
        for target in panel["targets"]:
            assert isinstance(target["expr"], str) and target["expr"].strip(), where
            assert target.get("datasource", datasource) == datasource, where


# promtool: Debian's `prometheus` package (.ci/run installs it).


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("SIGNPOST_REQUIRE_PROMTOOL"):
            pytest.fail("SIGNPOST_REQUIRE_PROMTOOL is set but promtool is not on PATH (apt-get install prometheus)")
        pytest.skip("promtool not on PATH (Debian package prometheus)")
    return found


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_rules(promtool):
    done = run(promtool, "check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_runs_the_rules_unit_tests(promtool):
    done = run(promtool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_parses_the_dashboard_queries(promtool, tmp_path):
    """Each panel's PromQL (Grafana's $__rate_interval as 5m) loads as a recording rule."""
    recorded = [{"record": f"signpost:dashboard:panel{p['id']}_{t['refId']}",
                 "expr": t["expr"].replace("$__rate_interval", "5m")}
                for p in dashboard()["panels"] for t in p["targets"]]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recorded}]}))
    done = run(promtool, "check", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr
