"""`promtool test rules` over the chart's rendered PrometheusRule: every alert (RED, event bus,
pods, and the SLO burn-rate alerts) fires on synthetic series that should fire it and stays silent
on healthy ones (tests/chart/alert_tests/*.yaml). A missing promtool is a failure, not a skip
(make test-deps installs Debian's prometheus package)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from .test_chart_alerts import _rule_groups

UNIT_TESTS = Path(__file__).parent / "alert_tests"


def _unit_files() -> list[Path]:
    return sorted(UNIT_TESTS.glob("*.yaml"))


def _cases() -> list[dict[str, Any]]:
    return [
        case
        for path in _unit_files()
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def test_promtool_unit_tests_of_every_alert(rendered: dict[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's prometheus package (make test-deps does)")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": _rule_groups(rendered["production"])}))
    for path in _unit_files():
        shutil.copy(path, tmp_path / path.name)
    result = subprocess.run(
        [promtool, "test", "rules", *(path.name for path in _unit_files())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(_unit_files())


def test_every_alert_is_seen_firing_and_silent(rendered: dict[str, list[dict[str, Any]]]) -> None:
    alerts = {
        rule["alert"] for group in _rule_groups(rendered["production"]) for rule in group["rules"] if "alert" in rule
    }
    fired = {case["alertname"] for case in _cases() if case.get("exp_alerts")}
    silent = {case["alertname"] for case in _cases() if not case.get("exp_alerts")}
    assert alerts - fired == set(), "alerts never seen firing in tests/chart/alert_tests"
    assert alerts - silent == set(), "alerts never seen silent on healthy series"
    assert (fired | silent) - alerts == set(), "unit tests of alerts the chart does not define"


def test_synthetic_series_use_the_label_values_the_services_export() -> None:
    """gRPC codes as grpc.StatusCode names (what the interceptor exports), HTTP statuses as numbers:
    an alert matching another spelling would never fire in production."""
    series = [
        s["series"]
        for path in _unit_files()
        for test in yaml.safe_load(path.read_text())["tests"]
        for s in test["input_series"]
    ]
    codes = {m for s in series for m in re.findall(r'grpc_code="([^"]+)"', s)}
    assert codes and codes <= {code.name for code in grpc.StatusCode}
    statuses = {m for s in series for m in re.findall(r'\bstatus="([^"]+)"', s)}
    assert statuses and all(re.fullmatch(r"[1-5]\d\d", status) for status in statuses)
