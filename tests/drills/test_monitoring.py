"""deploy/ monitoring checked against the code: promtool accepts the rules and their unit
tests, the Grafana dashboards load, and every metric (and label) a dashboard panel or an
alert uses is one the code registers with prometheus_client."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PACKAGES = ("config", "core", "printing", "sync", "terminal")
# Labels Prometheus adds to every scraped series, and the histogram bucket label.
TARGET_LABELS = {"instance", "job", "le"}
NOT_METRICS = {"boxoffice"}  # a job name


def _metric_modules() -> list[str]:
    """Every module below the faces that defines metrics (so a new one is checked too)."""
    out = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "prometheus_client import" in path.read_text(encoding="utf-8"):
                rel = path.relative_to(ROOT).with_suffix("")
                out.append(".".join(rel.parts))
    return sorted(out)


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str]]:
    """Family name -> label names, for every metric the code registers."""
    for mod in _metric_modules():
        importlib.import_module(mod)
    labels: dict[str, set[str]] = {}
    for collector in list(REGISTRY._collector_to_names):  # no public way to list them
        names = getattr(collector, "_labelnames", ())
        for fam in collector.describe() if hasattr(collector, "describe") else []:
            labels[fam.name] = set(names)
    return labels


def _family(sample: str, exported: dict[str, set[str]]) -> str | None:
    if sample in exported:
        return sample
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
        if sample.endswith(suffix) and sample.removesuffix(suffix) in exported:
            return sample.removesuffix(suffix)
    return None


def _exprs() -> list[tuple[str, str, list[str]]]:
    """(where, PromQL, legend templates) of every alert rule and dashboard target."""
    out = []
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            out.append((f"alert {rule['alert']}", rule["expr"],
                        [rule.get("annotations", {}).get("summary", "")]))
    for path in sorted((DEPLOY / "grafana").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for t in panel.get("targets", []):
                out.append((f"{path.name} panel {panel['title']!r}", t["expr"],
                            [t.get("legendFormat", "")]))
    return out


def test_modules_with_metrics_are_found():
    mods = _metric_modules()
    assert {"core.metrics", "core.dbmetrics", "core.backup", "sync.metrics"} <= set(mods)


def test_every_metric_used_is_exported_with_its_labels(exported):
    problems = []
    for where, expr, legends in _exprs():
        names = set(re.findall(r"\b(boxoffice_[a-z0-9_]+)\b", expr)) - NOT_METRICS
        if not names:
            problems.append(f"{where}: uses no box office metric: {expr}")
        allowed = set(TARGET_LABELS)
        for name in names:
            fam = _family(name, exported)
            if fam is None:
                problems.append(f"{where}: {name} is not exported by the code")
                continue
            allowed |= exported[fam]
        for name, matchers in re.findall(r"\b(boxoffice_[a-z0-9_]+)\{([^}]*)\}", expr):
            fam = _family(name, exported)
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers):
                if fam is not None and label not in exported[fam] | TARGET_LABELS:
                    problems.append(f"{where}: {name} has no label {label!r}")
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            for label in filter(None, (x.strip() for x in group.split(","))):
                if label not in allowed:
                    problems.append(f"{where}: grouped by {label!r}, which no metric has")
        for text in legends:
            for label in re.findall(r"\{\{\s*\$?labels\.(\w+)\s*\}\}|\{\{\s*(\w+)\s*\}\}", text):
                label = next(x for x in label if x)
                if label not in allowed | {"value"}:
                    problems.append(f"{where}: shows {{{{{label}}}}}, which no metric has")
    assert problems == []


def test_the_checker_catches_an_unknown_metric(exported):
    assert _family("boxoffice_gateway_request_seconds_bucket", exported)
    assert _family("boxoffice_sales_today", exported)
    assert _family("boxoffice_no_such_thing_total", exported) is None


def test_dashboards_load():
    paths = sorted((DEPLOY / "grafana").glob("*.json"))
    assert {p.stem for p in paths} >= {"boxoffice-overview", "boxoffice-payments",
                                        "boxoffice-terminals", "boxoffice-database"}
    uids = set()
    for path in paths:
        d = json.loads(path.read_text())
        for key in ("uid", "title", "schemaVersion", "panels", "templating"):
            assert key in d, f"{path.name}: no {key}"
        assert d["uid"] not in uids
        uids.add(d["uid"])
        assert [v["name"] for v in d["templating"]["list"]] == ["datasource"]
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for p in d["panels"]:
            assert p["type"] in {"timeseries", "stat", "bargauge", "table", "gauge"}
            assert set(p["gridPos"]) == {"x", "y", "w", "h"}
            assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
            assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"])
            assert p["datasource"]["uid"] == "${datasource}"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is needed (Debian package prometheus; .ci/run installs it)"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120,
                          cwd=DEPLOY / "prometheus")


def test_promtool_checks_the_rules_and_the_scrape_config():
    res = _promtool("check", "rules", "alerts.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    res = _promtool("check", "config", "scrape.yml")
    assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_unit_tests_of_the_alerts_pass():
    res = _promtool("test", "rules", "alerts_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_alert_the_issue_asks_for_is_unit_tested():
    tested = {t["alertname"] for case in
              yaml.safe_load((DEPLOY / "prometheus" / "alerts_test.yml").read_text())["tests"]
              for t in case["alert_rule_test"]}
    assert {"CardGatewayCircuitOpen", "TerminalSilent", "OfflineQueueAging",
            "ReplicationLagHigh", "BackupTooOld", "OversellDetected"} <= tested
