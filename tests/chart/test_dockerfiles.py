"""The Dockerfiles cannot be built here (no Docker engine): read them and check the rules.
Also checks that skaffold.yaml builds every image and deploys the chart."""

from __future__ import annotations

import importlib
import re

import pytest
import yaml

from salesgrid_dev import roster

from .conftest import CHART, COMPONENTS, ROOT

# Every service's image is services/Dockerfile with SERVICE (and GRPC_PORT) as build arguments.
DOCKERFILES = {c: ROOT / ("gateway" if c == "gateway" else "services") / "Dockerfile" for c in COMPONENTS}
PORTS = {s.name: s.grpc_port for s in roster.roster()}


def _dockerfile(component: str) -> str:
    """The Dockerfile as built for `component` (its build arguments put in)."""
    text = DOCKERFILES[component].read_text()
    if component == "gateway":
        return text
    return text.replace("${SERVICE}", component).replace("${GRPC_PORT}", str(PORTS[component]))


PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?$")
DEV_DEPENDENCIES = re.compile(r"pytest|\[dev\]|\[test|ruff|mypy|hypothesis", re.IGNORECASE)


def _stages(text: str) -> list[list[str]]:
    """Instructions per stage, ARG defaults substituted in FROM lines."""
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.MULTILINE))
    stages: list[list[str]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            line = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), line)
            stages.append([line])
        elif stages:
            stages[-1].append(line)
    return stages


@pytest.mark.parametrize("component", COMPONENTS)
def test_dockerfile(component: str) -> None:
    text = _dockerfile(component)
    stages = _stages(text)
    assert len(stages) >= 2, "multi-stage"
    for stage in stages:
        image = stage[0].split()[1]
        assert PINNED_BASE.match(image), f"base image not pinned to a slim Python patch version: {image}"
    builder, runtime = " ".join(stages[0]), stages[-1]
    assert "grpcio-tools==" in builder and "python tools/genproto.py" in builder, "protos generated in the build"
    assert f"salesgrid-{component}" in builder
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, "runtime runs as a non-root user"
    assert users[-1].startswith("10001")
    assert not DEV_DEPENDENCIES.search(text), "no dev dependencies in the image"
    assert "grpcio-tools" not in " ".join(runtime), "build tools stay in the builder"
    if component == "gateway":
        assert "salesgrid_gateway.app:create_app()" in text
        # Event-loop workers from the shared config: a sync worker would be killed by its timeout
        # during a long streamed upload.
        assert '"-c", "python:salesgrid_gateway.gunicorn_conf"' in text
        conf = importlib.import_module("salesgrid_gateway.gunicorn_conf")
        assert conf.worker_class == "salesgrid_gateway.wire_errors.GatewayWorker"
    else:
        assert f'"salesgrid_{component}"' in text and 'CMD ["serve"]' in text
        assert f"EXPOSE {PORTS[component]} 9464" in text
        assert 'exec python -m \\"$SALESGRID_SERVICE_MODULE\\"' in text, "python replaces the shell (PID 1)"


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for pattern in (".git", ".venv", "**/tests", "**/__pycache__", "**/*_pb2.py"):
        assert pattern in ignored


def test_skaffold_builds_every_image_and_deploys_the_chart() -> None:
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    assert sorted(artifacts) == sorted(f"salesgrid-{c}" for c in COMPONENTS)
    for component, dockerfile in DOCKERFILES.items():
        artifact = artifacts[f"salesgrid-{component}"]
        assert artifact["context"] == "."
        assert ROOT / artifact["docker"]["dockerfile"] == dockerfile
        if component != "gateway":
            assert artifact["docker"]["buildArgs"] == {"SERVICE": component, "GRPC_PORT": str(PORTS[component])}
    (release,) = config["deploy"]["helm"]["releases"]
    assert ROOT / release["chartPath"] == CHART
    for component in COMPONENTS:
        var = f"salesgrid_{component}"
        assert release["setValueTemplates"][f"components.{component}.image.repository"] == f"{{{{.IMAGE_REPO_{var}}}}}"
        assert release["setValueTemplates"][f"components.{component}.image.tag"] == f"{{{{.IMAGE_TAG_{var}}}}}"
    profiles = {p["name"]: p for p in config["profiles"]}
    assert {"dev", "prod"} <= set(profiles)
    for profile in profiles.values():
        for patch in profile["patches"]:
            if patch["path"].endswith("/valuesFiles"):
                assert all((ROOT / f).is_file() for f in patch["value"])
