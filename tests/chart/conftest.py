"""Render deploy/helm/salesgrid with the real Helm engine (the helm-python-sdk wheel
bundles it as a shared library: no helm binary, no cluster, no network)."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from salesgrid_dev import roster

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "salesgrid"
VALUES_DIR = ROOT / "deploy" / "helm" / "values"
RELEASE = "salesgrid"
NAMESPACE = "salesgrid"
KUBE_VERSION = "1.30.0"
COMPONENTS = (*roster.names(), "gateway")  # services/roster.toml
REGIONS = ("eu-central", "us-east", "ap-southeast")


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Combine values files the way `helm -f a.yaml -f b.yaml` does: maps merge, the rest is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_values(*names: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in names:
        merged = deep_merge(merged, yaml.safe_load((VALUES_DIR / name).read_text()) or {})
    return merged


def region_cell(region: str) -> dict[str, Any]:
    """production + three-regions, installed as the cell of `region` (README's --set lines)."""
    values = load_values("production.yaml", "three-regions.yaml")
    return deep_merge(
        values,
        {
            "region": region,
            "nats": {"config": {"gateway": {"merge": {"name": region}}, "cluster": {"merge": {"name": region}}}},
        },
    )


# The four value sets of the issue; "three regions" is one install per region.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "minimal": load_values("minimal.yaml"),
    "production": load_values("production.yaml"),
    **{f"region-{r}": region_cell(r) for r in REGIONS},
}


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The helm module, with Helm's cache/config/data homes in a temp dir (never ~/.cache)."""
    home = tmp_path_factory.mktemp("helm-home")
    saved = {k: os.environ.get(k) for k in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")}
    for key in saved:
        os.environ[key] = str(home / key.lower())
    import helm_python

    yield helm_python
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def chart(helm: Any) -> Iterator[Any]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every manifest the chart renders for `values` (NOTES.txt excluded)."""
    files = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: list[dict[str, Any]] = []
    for path, text in sorted(files.items()):
        if path.endswith(".yaml"):
            docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


@pytest.fixture(scope="session")
def rendered(chart: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: render(chart, values) for name, values in VALUE_SETS.items()}


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def component_of(doc: dict[str, Any]) -> str | None:
    return doc["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container.get("env", [])}
