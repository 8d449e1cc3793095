"""Every service the runner starts is registered everywhere README's "Adding a service" lists: a
new service missing from one place fails here, naming the place, instead of in production."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from salesgrid_dev.platform import SERVICES
from salesgrid_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_registered_everywhere(service: str) -> None:
    makefile = (ROOT / "Makefile").read_text()
    packages = re.search(r"^PACKAGES := (.*?)\n\S", makefile, re.MULTILINE | re.DOTALL)
    assert packages and f"services/{service}" in packages.group(1).split(), "Makefile PACKAGES"
    package = ROOT / "services" / service
    for needed in ("pyproject.toml", "Dockerfile", "README.md", f"src/salesgrid_{service}/__main__.py",
                   f"src/salesgrid_{service}/migrations/env.py", f"src/salesgrid_{service}/migrations/script.py.mako"):
        assert (package / needed).is_file(), f"services/{service}/{needed}"
    versions = list((package / "src" / f"salesgrid_{service}" / "migrations" / "versions").glob("*.py"))
    assert versions, "a migration"
    # Keyed calls run through every service's interceptor (salesgrid_common.idempotency).
    assert any("create_idempotency_tables_v1()" in v.read_text() for v in versions), \
        "a migration calling create_idempotency_tables_v1()"
    assert "idempotency_metadata" in (package / "src" / f"salesgrid_{service}" / "migrations" / "env.py").read_text(), \
        "idempotency_metadata in migrations/env.py"
    assert (ROOT / "proto" / "salesgrid" / service / "v1" / f"{service}.proto").is_file(), "gRPC API proto"
    app = importlib.import_module(f"salesgrid_{service}.app")
    assert app.DEFINITION.name == service, "app.DEFINITION"
    if service != "identity":  # identity owns the org tree; the others re-path their records on moves
        assert app.DEFINITION.metadata is not None, "DEFINITION(metadata=Base.metadata)"

    assert f"{service}_addr" in GatewaySettings.model_fields, "gateway settings <service>_addr"
    assert (ROOT / "gateway" / "src" / "salesgrid_gateway" / "routes" / f"{service}.py").is_file(), \
        "gateway routes module"
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "salesgrid" / "values.yaml").read_text())
    assert service in values["components"], "Helm values components"
    if service != "identity":
        assert service in values["components"]["identity"]["callers"], "identity's callers (JWKS)"
    schema = (ROOT / "deploy" / "helm" / "salesgrid" / "values.schema.json").read_text()
    assert f'"{service}"' in schema, "Helm values.schema.json"
    assert f"services/{service}/Dockerfile" in (ROOT / "skaffold.yaml").read_text(), "skaffold.yaml"
    assert f"salesgrid-{service}-db" in (ROOT / "deploy" / "helm" / "values" / "minimal.yaml").read_text(), \
        "deploy/helm/values/minimal.yaml"


def test_identity_audits_every_other_service() -> None:
    from salesgrid_identity.app import AUDITED_PRODUCERS

    assert set(AUDITED_PRODUCERS) == set(SERVICES) - {"identity"}
