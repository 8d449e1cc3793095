"""A real Prometheus for the embedded platform (make run, the integration tests), configured FROM
THE HELM CHART: the chart is rendered with the Prometheus Operator enabled, each ServiceMonitor
becomes a scrape job whose target is the matching local process, with the relabelling the
Operator generates (namespace, service, job, endpoint) followed by the ServiceMonitor's own
relabelings (e.g. `component`); the PrometheusRule's groups are loaded as rule files. So what an
operator sees here is what the cluster's Prometheus would see, minus Kubernetes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from salesgrid_dev.processes import terminate, wait_for_port

CHART = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "salesgrid"
RELEASE = "salesgrid"
NAMESPACE = "salesgrid"
COMPONENT_LABEL = "app.kubernetes.io/component"
# Kubernetes' camelCase relabeling fields → Prometheus' snake_case.
_RELABEL_FIELDS = {
    "sourceLabels": "source_labels",
    "targetLabel": "target_label",
    "separator": "separator",
    "regex": "regex",
    "replacement": "replacement",
    "action": "action",
    "modulus": "modulus",
}


@dataclass
class ChartMonitoring:
    service_monitors: list[dict[str, Any]]
    services: list[dict[str, Any]]
    rule_groups: list[dict[str, Any]]
    dashboards: dict[str, dict[str, Any]]  # file name → Grafana dashboard JSON


def render_chart_monitoring(chart: Path = CHART, values: Mapping[str, Any] | None = None) -> ChartMonitoring:
    """The chart's monitoring objects, rendered by the real Helm engine (helm-python-sdk)."""
    import helm_python

    given = {"monitoring": {"prometheusOperator": {"enabled": True}}, **(values or {})}
    homes = ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")
    saved = {key: os.environ.get(key) for key in homes}
    with tempfile.TemporaryDirectory(prefix="salesgrid-helm-") as home:
        os.environ.update({key: str(Path(home) / key.lower()) for key in homes})
        try:
            with helm_python.Chart.load(chart) as loaded:
                files = loaded.render(given, name=RELEASE, namespace=NAMESPACE, is_install=True)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    docs = [
        doc for path, text in sorted(files.items()) if path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc
    ]

    def kind(name: str) -> list[dict[str, Any]]:
        return [d for d in docs if d.get("kind") == name]

    (rule,) = kind("PrometheusRule")
    dashboards = {
        name: json.loads(text)
        for cm in kind("ConfigMap")
        for name, text in (cm.get("data") or {}).items()
        if name.endswith(".json")
    }
    return ChartMonitoring(kind("ServiceMonitor"), kind("Service"), rule["spec"]["groups"], dashboards)


def _label_name(key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", key)


def component_of(service_monitor: dict[str, Any]) -> str:
    return str(service_monitor["spec"]["selector"]["matchLabels"][COMPONENT_LABEL])


def scrape_configs(
    monitoring: ChartMonitoring, targets: Mapping[str, Mapping[str, str]], interval: str | None = None
) -> list[dict[str, Any]]:
    """One scrape job per ServiceMonitor endpoint. `targets`: component → {port name → host:port}
    of the local processes. A ServiceMonitor without a local process is an error (the platform
    and the chart must not drift apart)."""
    jobs = []
    for monitor in monitoring.service_monitors:
        component = component_of(monitor)
        selector = monitor["spec"]["selector"]["matchLabels"]
        service = next(
            s
            for s in monitoring.services
            if all(s["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        )
        meta = {
            "__meta_kubernetes_namespace": NAMESPACE,
            "__meta_kubernetes_service_name": service["metadata"]["name"],
            **{
                f"__meta_kubernetes_service_label_{_label_name(k)}": str(v)
                for k, v in service["metadata"].get("labels", {}).items()
            },
        }
        for index, endpoint in enumerate(monitor["spec"]["endpoints"]):
            port = endpoint["port"]
            if component not in targets or port not in targets[component]:
                raise KeyError(
                    f"ServiceMonitor {monitor['metadata']['name']} scrapes port {port!r} of {component}, "
                    f"which the embedded platform does not run"
                )
            # What the Prometheus Operator generates for an endpoint, then the endpoint's own.
            relabel = [
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
                {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job"},
                {"target_label": "endpoint", "replacement": port},
                *({_RELABEL_FIELDS[k]: v for k, v in r.items()} for r in endpoint.get("relabelings", [])),
            ]
            jobs.append(
                {
                    "job_name": f"serviceMonitor/{NAMESPACE}/{monitor['metadata']['name']}/{index}",
                    "metrics_path": endpoint.get("path", "/metrics"),
                    "scrape_interval": interval or endpoint.get("interval", "30s"),
                    "static_configs": [{"targets": [targets[component][port]], "labels": meta}],
                    "relabel_configs": relabel,
                }
            )
    return jobs


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def runner_flag(runner_settings: Mapping[str, str], name: str) -> bool:
    """A switch of the runner's own (SALESGRID_RUNNER__<NAME> in .env or the environment), on
    unless false/0/no/off."""
    return runner_settings.get(f"SALESGRID_{name}", "true").strip().lower() not in ("false", "0", "no", "off")


def prometheus_wanted(runner_settings: Mapping[str, str]) -> bool:
    """`make run` starts Prometheus unless SALESGRID_RUNNER__PROMETHEUS is false."""
    return runner_flag(runner_settings, "PROMETHEUS")


class PrometheusServer:
    """Debian's prometheus scraping the embedded platform, its data and config under `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        scrape: list[dict[str, Any]],
        rule_groups: list[dict[str, Any]],
        *,
        interval: str = "15s",
        retention: str = "7d",
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.scrape = scrape
        self.rule_groups = rule_groups
        self.interval = interval
        self.retention = retention
        self.process: subprocess.Popen[bytes] | None = None
        self.spawn: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen  # the runner: spawn_child

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "rules.yaml").write_text(yaml.safe_dump({"groups": self.rule_groups}, sort_keys=False))
        config = self.data_dir / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": self.interval, "evaluation_interval": self.interval},
                    "rule_files": ["rules.yaml"],
                    "scrape_configs": self.scrape,
                },
                sort_keys=False,
            )
        )
        return config

    def start(self, timeout: float = 30.0) -> subprocess.Popen[bytes]:
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError("prometheus not found: install Debian's prometheus package")
        config = self.write_config()
        log = open(self.data_dir / "prometheus.log", "ab")
        self.process = self.spawn(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout, self.process, "prometheus")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return self.process
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("prometheus did not become ready")

    def stop(self) -> None:
        terminate(self.process)


def platform_targets(platform: Any) -> dict[str, dict[str, str]]:
    """The local address behind each chart port name: a service's `metrics` port, the gateway's
    `http` port (it serves /metrics itself)."""
    targets = {service: {"metrics": f"127.0.0.1:{port}"} for service, port in platform.ports.metrics.items()}
    targets["gateway"] = {"http": f"127.0.0.1:{platform.ports.http}"}
    return targets


def prometheus_for(
    platform: Any, port: int, *, interval: str = "5s", monitoring: ChartMonitoring | None = None
) -> PrometheusServer:
    """A PrometheusServer (not started) scraping `platform` as the chart's ServiceMonitors say."""
    monitoring = monitoring or render_chart_monitoring()
    return PrometheusServer(
        platform.data_dir / "prometheus",
        port,
        scrape_configs(monitoring, platform_targets(platform), interval),
        monitoring.rule_groups,
        interval=interval,
    )
