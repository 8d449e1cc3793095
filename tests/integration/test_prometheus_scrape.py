"""A real Prometheus (Debian's, installed by make test-deps) scrapes the embedded platform with scrape jobs
generated from the chart's ServiceMonitors and evaluates the chart's PrometheusRule. After a
business day of traffic, every metric that an alert rule, a recording rule or a panel of the
Grafana dashboard reads exists and returns series carrying the labels the query uses (found
mechanically by parsing the PromQL of the rule and dashboard files), and the business counters
moved by what the traffic did."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from salesgrid_dev.monitoring import (
    ChartMonitoring,
    PrometheusServer,
    component_of,
    prometheus_binary,
    prometheus_for,
    render_chart_monitoring,
)
from salesgrid_dev.platform import Platform
from salesgrid_dev.processes import free_port
from salesgrid_dev.promql import Selector, parse
from salesgrid_dev.traffic import business_day

# Metrics the chart reads that no Salesgrid process exports (and where they come from).
EXTERNAL = {"kube_pod_container_status_restarts_total": "kube-state-metrics"}
STRUCTURAL = ("__name__", "namespace", "component")  # the labels a scrape job attaches
GRAFANA_VARIABLES = {"namespace": "salesgrid", "component": ".+"}


@pytest.fixture(scope="module")
def monitoring() -> ChartMonitoring:
    return render_chart_monitoring()


@pytest.fixture(scope="module")
def prometheus(platform: Platform, monitoring: ChartMonitoring) -> Iterator[PrometheusServer]:
    if prometheus_binary() is None:
        pytest.fail("prometheus not found: install Debian's prometheus package (make test-deps does)")
    server = prometheus_for(platform, free_port(), interval="1s", monitoring=monitoring)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def queries(monitoring: ChartMonitoring) -> list[tuple[str, str]]:
    """(where, PromQL) of every rule and every dashboard panel and variable."""
    found = [
        (f"rule {rule.get('alert') or rule.get('record')}", rule["expr"])
        for group in monitoring.rule_groups
        for rule in group["rules"]
    ]
    for name, dashboard in monitoring.dashboards.items():
        for panel in dashboard["panels"]:
            found += [(f"{name} panel {panel['title']!r}", t["expr"]) for t in panel.get("targets", [])]
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            text = query.get("query", "") if isinstance(query, dict) else ""
            if text.startswith("label_values("):  # label_values(<selector>, <label>)
                selector, _, label = text[len("label_values(") : -1].rpartition(",")
                found.append((f"{name} variable {variable['name']}", f"group by ({label.strip()}) ({selector})"))
    return found


def series(prometheus: PrometheusServer, selector: Selector) -> list[dict[str, str]]:
    """The series a selector finds, looking only at the labels every scrape job attaches."""
    kept = Selector(selector.name, tuple(m for m in selector.matchers if m[0] in STRUCTURAL))
    reply = httpx.get(
        f"{prometheus.url}/api/v1/series",
        params={"match[]": kept.promql(GRAFANA_VARIABLES), "start": str(time.time() - 300)},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return list(reply.json()["data"])


def instant(prometheus: PrometheusServer, query: str) -> list[dict[str, Any]]:
    reply = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": query}, timeout=10)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["data"]["result"])


def value(prometheus: PrometheusServer, query: str) -> float:
    result = instant(prometheus, query)
    return float(result[0]["value"][1]) if result else 0.0


def missing_series(prometheus: PrometheusServer, monitoring: ChartMonitoring) -> list[str]:
    problems = []
    for where, expr in queries(monitoring):
        parsed = parse(expr)
        labels_seen: set[str] = set()
        for selector in parsed.selectors:
            if selector.name in EXTERNAL:
                continue
            found = series(prometheus, selector)
            if not found:
                problems.append(f"{where}: no series for {selector.promql()}")
                continue
            labels = {label for s in found for label in s}
            labels_seen |= labels
            for label, op, _value in selector.matchers:
                if op in ("=", "=~") and label not in labels:
                    problems.append(f"{where}: {selector.name} has no label {label!r}")
        absent = {label for label in parsed.grouping if labels_seen and label not in labels_seen}
        if absent:
            problems.append(f"{where}: groups by labels no series has: {sorted(absent)}")
    return problems


def test_every_rule_and_panel_metric_is_scraped(
    platform: Platform, api: httpx.Client, admin_token: str, prometheus: PrometheusServer, monitoring: ChartMonitoring
) -> None:
    before = {name: value(prometheus, query) for name, query in COUNTERS.items()}
    day = business_day(api, admin_token, platform)

    # Every ServiceMonitor's target is scraped and up, labelled as in the cluster.
    expected = {component: "1" for component in (component_of(m) for m in monitoring.service_monitors)}
    moved: dict[str, float] = {}
    up: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # scraped every second, rules evaluated every second
        up = {r["metric"]["component"]: r["value"][1] for r in instant(prometheus, 'up{namespace="salesgrid"}')}
        moved = {name: value(prometheus, query) - before[name] for name, query in COUNTERS.items()}
        if (
            up == expected
            and all(moved[name] >= wanted(day) for name, wanted in EXPECTED.items())
            and not missing_series(prometheus, monitoring)
        ):
            break
        time.sleep(1)
    targets = httpx.get(f"{prometheus.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    assert up == expected, [(t["labels"].get("component"), t["health"], t["lastError"]) for t in targets]
    problems = missing_series(prometheus, monitoring)
    assert problems == [], "\n".join(problems)
    assert {name: moved[name] >= wanted(day) for name, wanted in EXPECTED.items()} == {
        name: True for name in EXPECTED
    }, moved


COUNTERS = {
    "customers": 'sum(salesgrid_customers_created_total{namespace="salesgrid"})',
    "won": 'sum(salesgrid_opportunities_closed_total{namespace="salesgrid", outcome="won"})',
    "lost": 'sum(salesgrid_opportunities_closed_total{namespace="salesgrid", outcome="lost"})',
    "receipts": 'sum(salesgrid_receipts_collected_total{namespace="salesgrid", currency="CNY"})',
    "collected": 'sum(salesgrid_receipts_collected_amount_total{namespace="salesgrid", currency="CNY"})',
    "import_rows": 'sum(salesgrid_import_rows_processed_total{namespace="salesgrid"})',
    "imports": 'sum(salesgrid_imports_completed_total{namespace="salesgrid"})',
    "exports": 'sum(salesgrid_exports_completed_total{namespace="salesgrid", entity="customers"})',
}
EXPECTED = {  # at least what the business day did (other tests share the platform)
    "customers": lambda d: d.customers,
    "won": lambda d: d.won,
    "lost": lambda d: d.lost,
    "receipts": lambda d: 1,
    "collected": lambda d: d.receipts_cny,
    "import_rows": lambda d: d.import_rows,
    "imports": lambda d: 1,
    "exports": lambda d: d.exports,
}


def test_what_the_chart_queries_is_parsed() -> None:
    """The extraction the test above relies on finds names, matchers and grouping labels."""
    parsed = parse(
        'sum by (component, le) (rate(http_request_duration_seconds_bucket{namespace="$namespace", '
        'component=~"$component", route!~"/healthz|/readyz"}[5m])) / on (component) group_left '
        'sum(up{job="x"} offset 5m) and {__name__=~"salesgrid:.+:error_ratio_rate1h"}'
    )
    assert parsed.metric_names == {"http_request_duration_seconds_bucket", "up"}
    assert parsed.grouping == {"component", "le"}
    assert parsed.selectors[0].promql(GRAFANA_VARIABLES) == (
        'http_request_duration_seconds_bucket{namespace="salesgrid", component=~".+", route!~"/healthz|/readyz"}'
    )
    assert parsed.selectors[2] == Selector(None, (("__name__", "=~", "salesgrid:.+:error_ratio_rate1h"),))


def test_a_panel_on_a_missing_metric_is_caught(prometheus: PrometheusServer, monitoring: ChartMonitoring) -> None:
    """The check fails for a dashboard panel whose metric no process exports."""
    broken = ChartMonitoring(
        monitoring.service_monitors,
        monitoring.services,
        [],
        {
            "broken.json": {
                "panels": [
                    {
                        "title": "Typo",
                        "targets": [
                            {"expr": 'sum(rate(salesgrid_customer_created_total{namespace="$namespace"}[5m]))'}
                        ],
                    }
                ]
            }
        },
    )
    assert missing_series(prometheus, broken) == [
        "broken.json panel 'Typo': no series for salesgrid_customer_created_total{namespace=\"$namespace\"}"
    ]
