"""config/: the Prometheus scrape config, the alerting rules and the Grafana dashboard.

The dashboard parses and has the panels operators need; every
``walletdoctor_*`` series named by a panel or an alert is one that
:class:`~walletdoctor.observability.Metrics` defines; the YAML structure is
checked with PyYAML; and Prometheus' own ``promtool`` validates the files and
drives each alert with synthetic series in a ``promtool test rules`` unit
test. ``make test`` puts ``promtool`` in the virtualenv where it is missing
(``make promtool``, from Debian's ``prometheus`` package).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from walletdoctor.observability import Metrics

CONFIG = Path(__file__).resolve().parents[2] / "config"
ALERTS = ("WalletDoctorDown", "WalletDoctorStreamErrorRate", "WalletDoctorUpstream429Storm",
          "WalletDoctorCircuitBreakerOpen", "WalletDoctorSlowFirstEvent", "WalletDoctorStreamsNearCapacity")
_SERIES = re.compile(r"\bwalletdoctor_[a-z0-9_]+")
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def _defined_series() -> set[str]:
    names: set[str] = set()
    for family in Metrics(process_collectors=False).registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def _dashboard() -> dict[str, Any]:
    return json.loads((CONFIG / "grafana-dashboard.json").read_text())


def _panel_exprs() -> dict[str, list[str]]:
    return {
        panel["title"]: [target["expr"] for target in panel["targets"]]
        for panel in _dashboard()["panels"]
        if panel["type"] != "row"
    }


def test_dashboard_has_the_panels_operators_need() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "walletdoctor" and dashboard["schemaVersion"] >= 36
    titles = set(_panel_exprs())
    assert {
        "Active streams", "Stream outcomes", "Events sent", "Bytes sent", "Time to first event",
        "Stream duration", "Upstream requests by status", "Upstream 429s", "Upstream retries",
        "Circuit breaker state",
    } <= titles
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert {"p50", "p95"} <= {t["legendFormat"] for p in dashboard["panels"] if p["title"] == "Time to first event"
                              for t in p["targets"]}


def test_every_series_a_panel_queries_is_defined_by_metrics() -> None:
    defined = _defined_series()
    for title, exprs in _panel_exprs().items():
        assert exprs, f"panel {title!r} has no query"
        for expr in exprs:
            used = set(_SERIES.findall(expr))
            assert used or "up{" in expr, f"panel {title!r} queries no WalletDoctor series: {expr}"
            assert used <= defined, f"panel {title!r} queries undefined series {used - defined}"


def test_every_series_an_alert_uses_is_defined_by_metrics() -> None:
    text = (CONFIG / "alerts.yml").read_text()
    assert set(re.findall(r"- alert: (\w+)", text)) == set(ALERTS)
    used = set(_SERIES.findall(text))
    assert used and used <= _defined_series(), used - _defined_series()


def test_yaml_structure() -> None:
    scrape = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    (job,) = [job for job in scrape["scrape_configs"] if job["job_name"] == "walletdoctor"]
    assert job["metrics_path"] == "/metrics"
    assert scrape["rule_files"] == ["alerts.yml"]
    rules = yaml.safe_load((CONFIG / "alerts.yml").read_text())
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert set(alerts) == set(ALERTS)
    for rule in alerts.values():
        assert rule["expr"] and rule["labels"]["severity"] in {"warning", "critical"} and rule["annotations"]["summary"]


def _promtool() -> str:
    """``promtool`` on the PATH, else the one ``make promtool`` put beside the virtualenv's Python."""
    binary = shutil.which("promtool") or shutil.which("promtool", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.fail("promtool is not installed (make test installs it: make promtool)")
    return binary


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_config_and_the_rules() -> None:
    promtool = _promtool()
    _run(promtool, "check", "config", "--syntax-only", str(CONFIG / "prometheus.yml"))
    _run(promtool, "check", "rules", str(CONFIG / "alerts.yml"))


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    promtool = _promtool()
    rules = [
        {"record": f"dashboard:query_{n}", "expr": expr.replace("$__rate_interval", "5m").replace("$instance", ".*")}
        for n, expr in enumerate(e for exprs in _panel_exprs().values() for e in exprs)
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    _run(promtool, "check", "rules", str(path))


def _series(name: str, values: str) -> dict[str, str]:
    return {"series": name, "values": values}


def _descriptions() -> dict[str, str]:
    """Each alert's (untemplated) description, read from alerts.yml without a YAML parser."""
    blocks = (CONFIG / "alerts.yml").read_text().split("- alert: ")[1:]
    return {
        block.split()[0]: re.search(r"^\s+description: (.+)$", block, re.MULTILINE).group(1)  # type: ignore[union-attr]
        for block in blocks
    }


def _alert_tests() -> list[dict[str, Any]]:
    """One scenario per alert that must fire, and a healthy one where none may."""
    ended = "walletdoctor_streams_ended_total"
    first = "walletdoctor_stream_first_event_seconds_bucket"
    up = 'up{job="walletdoctor",instance="wd:8080"}'
    firing = [
        ("WalletDoctorDown", "5m", [_series(up, "0x10")], {"severity": "critical"},
         "No WalletDoctor instance is up"),
        ("WalletDoctorStreamErrorRate", "20m",
         [_series(ended + '{outcome="error"}', "0+2x30"), _series(ended + '{outcome="complete"}', "0+4x30")],
         {"severity": "warning"}, "33.33% of streams end with an error"),
        ("WalletDoctorUpstream429Storm", "15m",
         [_series('walletdoctor_upstream_requests_total{endpoint="enhanced_parse",status="429"}', "0+60x30"),
          _series('walletdoctor_upstream_requests_total{endpoint="enhanced_parse",status="200"}', "0+60x30"),
          _series('walletdoctor_upstream_rate_limited_total{endpoint="enhanced_parse"}', "0+60x30")],
         {"severity": "warning", "endpoint": "enhanced_parse"},
         "Helius rate-limits enhanced_parse (50% of attempts)"),
        ("WalletDoctorCircuitBreakerOpen", "3m",
         [_series('walletdoctor_circuit_breaker_state{instance="wd:8080",name="helius"}', "2x10")],
         {"severity": "critical", "instance": "wd:8080", "name": "helius"}, "Circuit breaker helius is open on wd:8080"),
        ("WalletDoctorSlowFirstEvent", "25m",
         [_series(first + '{le="1.0"}', "0x30"), _series(first + '{le="2.0"}', "0x30"),
          _series(first + '{le="3.0"}', "0+10x30"), _series(first + '{le="+Inf"}', "0+10x30")],
         {"severity": "warning"}, "p95 time to first event is 2.95s"),
        ("WalletDoctorStreamsNearCapacity", "10m",
         [_series('walletdoctor_streams_active{instance="wd:8080"}', "90x15"),
          _series('walletdoctor_streams_capacity{instance="wd:8080"}', "100x15")],
         {"severity": "warning", "instance": "wd:8080"}, "wd:8080 holds 90% of its stream capacity"),
    ]
    descriptions = _descriptions()
    tests = [
        {
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [{
                "eval_time": at,
                "alertname": name,
                "exp_alerts": [{
                    "exp_labels": labels,
                    "exp_annotations": {"summary": summary, "description": descriptions[name]},
                }],
            }],
        }
        for name, at, series, labels, summary in firing
    ]
    healthy = [
        _series(up, "1x30"),
        _series(ended + '{outcome="complete"}', "0+10x30"),
        _series(ended + '{outcome="error"}', "0+0x30"),
        _series('walletdoctor_upstream_requests_total{endpoint="enhanced_parse",status="200"}', "0+60x30"),
        _series('walletdoctor_upstream_rate_limited_total{endpoint="enhanced_parse"}', "0+1x30"),
        _series('walletdoctor_circuit_breaker_state{instance="wd:8080",name="helius"}', "0x30"),
        _series(first + '{le="1.0"}', "0+9x30"), _series(first + '{le="2.0"}', "0+10x30"),
        _series(first + '{le="+Inf"}', "0+10x30"),
        _series('walletdoctor_streams_active{instance="wd:8080"}', "10x30"),
        _series('walletdoctor_streams_capacity{instance="wd:8080"}', "100x30"),
    ]
    tests.append({
        "interval": "1m",
        "input_series": healthy,
        "alert_rule_test": [{"eval_time": "25m", "alertname": name, "exp_alerts": []} for name in ALERTS],
    })
    return tests


def test_promtool_each_alert_fires_on_its_symptom_and_none_when_healthy(tmp_path: Path) -> None:
    promtool = _promtool()
    shutil.copy(CONFIG / "alerts.yml", tmp_path / "alerts.yml")
    unit = {"rule_files": ["alerts.yml"], "evaluation_interval": "1m", "tests": _alert_tests()}
    path = tmp_path / "alerts_test.yml"
    path.write_text(json.dumps(unit))
    _run(promtool, "test", "rules", str(path))
