"""The chart renders, lints strictly and validates against the Kubernetes 1.30 schemas
for the four value sets, and keeps its invariants."""

from __future__ import annotations

import base64
import json
from typing import Any

import kubernetes_validate
import pytest

from .conftest import (
    CHART,
    COMPONENTS,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    VALUE_SETS,
    by_kind,
    component_of,
    deep_merge,
    env_of,
    load_values,
    render,
)

SETS = sorted(VALUE_SETS)
# Custom resources: kubernetes-validate only knows the built-in API, so these kinds
# (CloudNativePG Cluster, Prometheus Operator ServiceMonitor/PrometheusRule) are the
# only ones not schema-validated. Their content is checked by the tests below instead.
CRD_KINDS = {"Cluster", "ScheduledBackup", "ServiceMonitor", "PrometheusRule"}
# Chart.yaml declares the official NATS chart; it is fetched by `helm dependency build`
# (network), so an offline checkout has no charts/nats-*.tgz and lint reports exactly that.
MISSING_NATS = "chart directory is missing these dependencies: nats"


@pytest.mark.parametrize("name", SETS)
def test_lint_strict(helm: Any, name: str) -> None:
    report = helm.lint(CHART, VALUE_SETS[name], strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")
    vendored = any((CHART / "charts").glob("nats-*.tgz"))
    allowed = set() if vendored else {MISSING_NATS}
    problems = [m for m in report["messages"] if m["severity"] >= 2 and m["error"] not in allowed]
    assert not problems, problems
    assert not [e for e in report["errors"] if e not in allowed]


@pytest.mark.parametrize("name", SETS)
def test_manifests_match_kubernetes_schemas(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    docs = rendered[name]
    assert docs
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


@pytest.mark.parametrize("name", SETS)
def test_every_component_has_its_objects(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    docs = rendered[name]
    for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"):
        assert sorted(component_of(d) for d in by_kind(docs, kind)) == sorted(COMPONENTS), kind
    jobs = {component_of(j): j for j in by_kind(docs, "Job")}
    assert sorted(jobs) == sorted(c for c in COMPONENTS if c != "gateway")
    for job in jobs.values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


@pytest.mark.parametrize("name", SETS)
def test_deployments_have_probes_resources_and_run_non_root(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    for dep in by_kind(rendered[name], "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["topologySpreadConstraints"]
        for container in pod["containers"]:
            where = f"{name}: {dep['metadata']['name']}/{container['name']}"
            assert container.get("livenessProbe") and container.get("readinessProbe"), where
            probe_kind = "httpGet" if component_of(dep) == "gateway" else "grpc"
            assert probe_kind in container["livenessProbe"] and probe_kind in container["readinessProbe"], where
            assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"], where
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert env_of(dep)["SALESGRID_ENVIRONMENT"]["value"] == "prod", where


def _secret_values(docs: list[dict[str, Any]]) -> set[str]:
    values = {base64.b64decode(v).decode() for s in by_kind(docs, "Secret") for v in s.get("data", {}).values()}
    values |= {v for s in by_kind(docs, "Secret") for v in s.get("stringData", {}).values()}
    return {v for v in values if len(v) >= 8}


@pytest.mark.parametrize("name", SETS)
def test_secrets_only_from_secrets(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    docs = rendered[name]
    secrets = _secret_values(docs)
    for cm in by_kind(docs, "ConfigMap"):
        for key, text in cm.get("data", {}).items():
            assert not any(s in text for s in secrets), f"secret value in ConfigMap {cm['metadata']['name']}/{key}"
            assert "PRIVATE KEY" not in text and "password" not in key.lower()
    for workload in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        env = env_of(workload)
        for var in ("SALESGRID_SIGNING_KEY", "PGPASSWORD"):
            if var in env:
                assert "secretKeyRef" in env[var]["valueFrom"], var
        url = env.get("SALESGRID_DATABASE_URL")
        if url is not None:
            # From a Secret, or composed by Kubernetes from secret-backed variables.
            assert "valueFrom" in url or "$(PGPASSWORD)" in url["value"], url
    identity = next(d for d in by_kind(docs, "Deployment") if component_of(d) == "identity")
    assert "secretKeyRef" in env_of(identity)["SALESGRID_SIGNING_KEY"]["valueFrom"]


@pytest.mark.parametrize("name", SETS)
def test_network_policies_admit_only_gateway_and_callers(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    policies = {component_of(p): p for p in by_kind(rendered[name], "NetworkPolicy")}
    expected_callers = {
        "identity": {
            "gateway",
            "customers",
            "pipeline",
            "activities",
            "contracts",
            "analytics",
            "expenses",
            "webhooks",
        },
        "customers": {"gateway", "pipeline", "expenses"},
        "pipeline": {"gateway", "contracts", "expenses"},
        "activities": {"gateway"},
        "contracts": {"gateway", "pipeline"},
        "analytics": {"gateway"},
        "expenses": {"gateway"},
        "webhooks": {"gateway"},
    }
    for component, callers in expected_callers.items():
        spec = policies[component]["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        api_rule = spec["ingress"][0]
        assert api_rule["ports"] == [{"port": "grpc"}]
        allowed = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in api_rule["from"]}
        assert allowed == callers, component
        # every other ingress rule is the metrics scrape from the monitoring namespace
        assert all(r["ports"] == [{"port": "metrics"}] for r in spec["ingress"][1:])
    gateway_from = policies["gateway"]["spec"]["ingress"][0]["from"]
    assert all("namespaceSelector" in peer for peer in gateway_from)


def test_each_service_reaches_only_its_own_database(rendered: dict[str, list[dict[str, Any]]]) -> None:
    policies = {component_of(p): p for p in by_kind(rendered["production"], "NetworkPolicy")}
    for component in COMPONENTS:
        db_targets = [
            peer["podSelector"]["matchLabels"]["cnpg.io/cluster"]
            for rule in policies[component]["spec"]["egress"]
            for peer in rule.get("to", [])
            if "cnpg.io/cluster" in peer.get("podSelector", {}).get("matchLabels", {})
        ]
        expected = [] if component == "gateway" else [f"{RELEASE}-{component}-db"]
        assert db_targets == expected, component


def test_peer_addresses_follow_callers(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deps = {component_of(d): env_of(d) for d in by_kind(rendered["default"], "Deployment")}
    addrs = {c: sorted(k for k in env if k.endswith("_ADDR")) for c, env in deps.items()}
    assert addrs["pipeline"] == ["SALESGRID_CONTRACTS_ADDR", "SALESGRID_CUSTOMERS_ADDR", "SALESGRID_IDENTITY_ADDR"]
    assert addrs["contracts"] == ["SALESGRID_IDENTITY_ADDR", "SALESGRID_PIPELINE_ADDR"]
    assert addrs["expenses"] == ["SALESGRID_CUSTOMERS_ADDR", "SALESGRID_IDENTITY_ADDR", "SALESGRID_PIPELINE_ADDR"]
    assert addrs["identity"] == []
    assert len(addrs["gateway"]) == 8  # every service but the gateway itself
    assert deps["customers"]["SALESGRID_IDENTITY_ADDR"]["value"] == f"{RELEASE}-identity:50051"


def test_databases_and_nats_per_value_set(rendered: dict[str, list[dict[str, Any]]]) -> None:
    minimal = {component_of(d): env_of(d) for d in by_kind(rendered["minimal"], "Deployment")}
    assert not by_kind(rendered["minimal"], "Cluster")
    assert minimal["customers"]["SALESGRID_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "salesgrid-customers-db",
        "key": "url",
    }
    assert minimal["customers"]["SALESGRID_NATS_URL"]["value"] == "nats://nats.messaging.svc:4222"

    prod = rendered["production"]
    clusters = by_kind(prod, "Cluster")
    assert sorted(component_of(c) for c in clusters) == sorted(c for c in COMPONENTS if c != "gateway")
    for cluster in clusters:
        assert cluster["spec"]["instances"] == 3
        assert cluster["metadata"]["annotations"]["helm.sh/hook"] == "pre-install"
    env = {component_of(d): env_of(d) for d in by_kind(prod, "Deployment")}
    assert env["pipeline"]["SALESGRID_NATS_URL"]["value"] == f"nats://{RELEASE}-nats:4222"
    assert env["pipeline"]["SALESGRID_STREAM_REPLICAS"]["value"] == "3"
    assert not by_kind(prod, "Secret"), "production takes the signing key from an existing Secret"
    assert {component_of(s) for s in by_kind(prod, "ServiceMonitor")} == set(COMPONENTS)
    assert not any("replicas" in d["spec"] for d in by_kind(prod, "Deployment")), "HPA owns replicas"


def test_gateway_ingress_with_tls(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert not by_kind(rendered["default"], "Ingress")
    (ingress,) = by_kind(rendered["production"], "Ingress")
    assert ingress["spec"]["tls"] == [{"hosts": ["crm.example.com"], "secretName": "crm-example-com-tls"}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": f"{RELEASE}-gateway", "port": {"name": "http"}}


def test_three_regions_hq_analytics_sources_regional_streams(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for region in ("eu-central", "us-east", "ap-southeast"):
        env = {component_of(d): env_of(d) for d in by_kind(rendered[f"region-{region}"], "Deployment")}
        assert all(e["SALESGRID_REGION"]["value"] == region for e in env.values())
        sources = env["analytics"].get("SALESGRID_SOURCE_REGIONS")
        if region == "eu-central":
            assert sources == {"name": "SALESGRID_SOURCE_REGIONS", "value": "eu-central,us-east,ap-southeast"}
        else:
            assert sources is None


def test_grafana_dashboard(rendered: dict[str, list[dict[str, Any]]]) -> None:
    (cm,) = by_kind(rendered["production"], "ConfigMap")
    dashboard = json.loads(cm["data"]["salesgrid-overview.json"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in (
        "grpc_server_handled_total",
        "grpc_server_handling_seconds_bucket",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "salesgrid_outbox_backlog",
        "salesgrid_consumer_lag",
        "salesgrid_dead_letters_total",
        "salesgrid_event_projection_lag_seconds_bucket",
        "salesgrid_customers_created_total",
        "salesgrid_opportunities_closed_total",
        "salesgrid_receipts_collected_amount_total",
        "salesgrid_import_rows_processed_total",
        "salesgrid_exports_completed_total",
        ":error_ratio_rate1h",
    ):
        assert metric in exprs
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_generated_signing_key_is_an_ed25519_hook_secret(rendered: dict[str, list[dict[str, Any]]]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    (secret,) = [s for s in by_kind(rendered["default"], "Secret") if s["metadata"]["name"].endswith("signing-key")]
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install", "the migration Job needs it"
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    pem = base64.b64decode(secret["data"]["signing-key"])
    assert isinstance(load_pem_private_key(pem, password=None), Ed25519PrivateKey)
    migrate = next(j for j in by_kind(rendered["default"], "Job") if component_of(j) == "identity")
    ref = env_of(migrate)["SALESGRID_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": secret["metadata"]["name"], "key": "signing-key"}


def test_backups_and_durability(chart: Any) -> None:
    prod = render(
        chart,
        deep_merge(
            load_values("production.yaml"),
            {
                "backup": {
                    "enabled": True,
                    "cnpg": {"destinationPath": "s3://backups/salesgrid", "s3CredentialsSecret": "s3"},
                }
            },
        ),
    )
    clusters = {component_of(c): c for c in by_kind(prod, "Cluster")}
    scheduled = {component_of(b): b for b in by_kind(prod, "ScheduledBackup")}
    assert set(scheduled) == set(clusters) == {c for c in COMPONENTS if c != "gateway"}
    for name, cluster in clusters.items():
        spec = cluster["spec"]
        assert spec["backup"]["retentionPolicy"] == "14d"
        assert spec["backup"]["barmanObjectStore"]["destinationPath"] == "s3://backups/salesgrid"
        assert (spec["minSyncReplicas"], spec["maxSyncReplicas"]) == (1, 1)  # no loss on power failure
        assert scheduled[name]["spec"]["cluster"]["name"] == cluster["metadata"]["name"]

    minimal = render(chart, deep_merge(load_values("minimal.yaml"), {"backup": {"enabled": True}}))
    jobs = {component_of(j): j for j in by_kind(minimal, "CronJob")}
    assert set(jobs) == {c for c in COMPONENTS if c != "gateway"}
    script = jobs["customers"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "pg_dump -Fc" in script and "tail -n +15" in script  # the newest 14 kept
    assert not by_kind(render(chart, load_values("minimal.yaml")), "CronJob")  # off by default


def test_only_webhooks_may_reach_partner_endpoints(rendered: dict[str, list[dict[str, Any]]]) -> None:
    policies = {component_of(p): p for p in by_kind(rendered["default"], "NetworkPolicy")}
    for component, policy in policies.items():
        blocks = [to["ipBlock"] for rule in policy["spec"]["egress"] for to in rule.get("to", []) if "ipBlock" in to]
        https = [b for b in blocks if b["cidr"] == "0.0.0.0/0"]
        if component == "webhooks":
            assert https and "10.0.0.0/8" in https[0]["except"], policy
        else:
            assert not https, component


def test_webhooks_get_a_generated_key_for_secrets_at_rest(rendered: dict[str, list[dict[str, Any]]]) -> None:
    webhooks = next(d for d in by_kind(rendered["default"], "Deployment") if component_of(d) == "webhooks")
    ref = env_of(webhooks)["SALESGRID_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
    secret = next(s for s in by_kind(rendered["default"], "Secret") if s["metadata"]["name"] == ref["name"])
    assert ref["key"] in secret["data"]
