"""The rendered PrometheusRule passes `promtool check rules` (Debian's prometheus package,
installed by make test-deps). A missing promtool is a failure, not a skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import by_kind

EXPECTED_ALERTS = {
    "SalesgridGrpcErrorRatioHigh",
    "SalesgridHttpErrorRatioHigh",
    "SalesgridGrpcLatencyP99High",
    "SalesgridHttpLatencyP99High",
    "SalesgridOutboxBacklog",
    "SalesgridConsumerLag",
    "SalesgridDeadLettersGrowing",
    "SalesgridDeadLettersPending",
    "SalesgridPodRestarting",
    *(
        f"Salesgrid{slo}BudgetBurn{speed}"
        for slo in ("GatewayAvailability", "GatewayLatency", "EventProjection")
        for speed in ("Fast", "Slow")
    ),
}
# The SLIs recorded per window of the multiwindow multi-burn-rate alerts.
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def _rule_groups(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (rule,) = by_kind(docs, "PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def test_alerts_cover_red_event_bus_and_restarts(rendered: dict[str, list[dict[str, Any]]]) -> None:
    groups = _rule_groups(rendered["production"])
    alerts = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
    assert alerts == EXPECTED_ALERTS
    recorded = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    assert recorded == {
        f"salesgrid:{slo}:error_ratio_rate{w}"
        for w in SLO_WINDOWS
        for slo in ("gateway_availability", "gateway_latency", "event_projection")
    }
    for group in groups:
        for rule in group["rules"]:
            assert 'namespace="salesgrid"' in rule["expr"], rule.get("alert") or rule["record"]
            if "alert" in rule:
                assert rule["labels"]["severity"] in {"warning", "critical"}
    assert not by_kind(rendered["default"], "PrometheusRule"), "only with the Prometheus Operator"


def test_promtool_check_rules(rendered: dict[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's prometheus package (make test-deps does)")
    rules_file = tmp_path / "salesgrid-rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": _rule_groups(rendered["production"])}))
    result = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 36 rules found" in result.stdout + result.stderr
