"""Every service of the roster (services/roster.toml, which the runner, the Makefile and
skaffold.yaml take their lists from) is registered everywhere README's "Adding a service" lists: a
new service missing from one place fails here, naming the place, instead of in production."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from salesgrid_dev import roster
from salesgrid_dev.platform import SERVICES
from salesgrid_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_registered_everywhere(service: str) -> None:
    # Makefile PACKAGES: test_the_runner_and_the_makefile_take_the_roster
    package = ROOT / "services" / service
    for needed in (
        "pyproject.toml",
        "README.md",
        f"src/salesgrid_{service}/__main__.py",
        f"src/salesgrid_{service}/migrations/env.py",
        f"src/salesgrid_{service}/migrations/script.py.mako",
    ):
        assert (package / needed).is_file(), f"services/{service}/{needed}"
    versions = list((package / "src" / f"salesgrid_{service}" / "migrations" / "versions").glob("*.py"))
    assert versions, "a migration"
    # Keyed calls run through every service's interceptor (salesgrid_common.idempotency).
    assert any("create_idempotency_tables_v1()" in v.read_text() for v in versions), (
        "a migration calling create_idempotency_tables_v1()"
    )
    assert "idempotency_metadata" in (package / "src" / f"salesgrid_{service}" / "migrations" / "env.py").read_text(), (
        "idempotency_metadata in migrations/env.py"
    )
    assert (ROOT / "proto" / "salesgrid" / service / "v1" / f"{service}.proto").is_file(), "gRPC API proto"
    app = importlib.import_module(f"salesgrid_{service}.app")
    assert app.DEFINITION.name == service, "app.DEFINITION"
    if service != "identity":  # identity owns the org tree; the others re-path their records on moves
        assert app.DEFINITION.metadata is not None, "DEFINITION(metadata=Base.metadata)"

    assert f"{service}_addr" in GatewaySettings.model_fields, "gateway settings <service>_addr"
    assert (ROOT / "gateway" / "src" / "salesgrid_gateway" / "routes" / f"{service}.py").is_file(), (
        "gateway routes module"
    )
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "salesgrid" / "values.yaml").read_text())
    assert service in values["components"], "Helm values components"
    port = {s.name: s.grpc_port for s in roster.roster()}[service]
    assert values["components"][service]["port"] == port, "Helm values port = the roster's grpc_port"
    if service != "identity":
        assert service in values["components"]["identity"]["callers"], "identity's callers (JWKS)"
    schema = (ROOT / "deploy" / "helm" / "salesgrid" / "values.schema.json").read_text()
    assert f'"{service}"' in schema, "Helm values.schema.json"
    assert f"SERVICE: {service}," in (ROOT / "skaffold.yaml").read_text(), "skaffold.yaml (make roster)"
    assert f"salesgrid-{service}-db" in (ROOT / "deploy" / "helm" / "values" / "minimal.yaml").read_text(), (
        "deploy/helm/values/minimal.yaml"
    )


def test_identity_audits_every_other_service() -> None:
    from salesgrid_identity.app import AUDITED_PRODUCERS

    assert set(AUDITED_PRODUCERS) == set(SERVICES) - {"identity"}


def test_the_runner_and_the_makefile_take_the_roster() -> None:
    assert SERVICES == roster.names()
    make = subprocess.run(
        ["make", "-s", "-p", "-n", "-f", "Makefile", "roster"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    packages = re.search(r"^PACKAGES := (.*)$", make.stdout, re.MULTILINE)
    assert packages, make.stderr
    assert [p.removeprefix("services/") for p in packages.group(1).split() if p.startswith("services/")] == list(
        SERVICES
    )


def test_skaffold_yaml_is_generated_from_the_roster() -> None:
    check = subprocess.run(
        [sys.executable, "tools/roster.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def test_one_dockerfile_for_every_service() -> None:
    assert (ROOT / "services" / "Dockerfile").is_file()
    assert sorted(p.parent.name for p in (ROOT / "services").glob("*/Dockerfile")) == []
