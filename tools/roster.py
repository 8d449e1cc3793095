"""Write skaffold.yaml from services/roster.toml (`make roster`); `--check` only reports whether
it is current (the registry test runs that). The profiles are kept as they are in the file."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKAFFOLD = ROOT / "skaffold.yaml"
MARK = "profiles:\n"

HEAD = """\
# GENERATED from services/roster.toml by `make roster` down to `profiles:` (edit the profiles freely).
# One-command loop against a cluster: `skaffold dev -p dev` or `skaffold run -p prod`.
# Images are built from the repository root (services/Dockerfile, the service as a build argument,
# generates the protos); the Helm deployer installs deploy/helm/salesgrid with each built image by its tag.
apiVersion: skaffold/v4beta11
kind: Config
metadata:
  name: salesgrid
build:
  tagPolicy:
    gitCommit: {}
  artifacts:
"""


def services() -> list[tuple[str, int]]:
    roster = tomllib.loads((ROOT / "services" / "roster.toml").read_text(encoding="utf-8"))
    return [(entry["name"], int(entry["grpc_port"])) for entry in roster["service"]]


def render(current: str) -> str:
    components = [name for name, _ in services()] + ["gateway"]
    lines = [HEAD]
    for name, port in services():
        lines.append(
            f"    - image: salesgrid-{name}\n      context: .\n      docker:\n"
            f"        dockerfile: services/Dockerfile\n"
            f'        buildArgs: {{SERVICE: {name}, GRPC_PORT: "{port}"}}\n'
        )
    lines.append("    - image: salesgrid-gateway\n      context: .\n      docker: {dockerfile: gateway/Dockerfile}\n")
    lines.append("""deploy:
  helm:
    releases:
      - name: salesgrid
        chartPath: deploy/helm/salesgrid
        namespace: salesgrid
        createNamespace: true
        # skaffold runs `helm dependency build` first (fetches the NATS chart when enabled).
        setValueTemplates:
""")
    for name in components:
        var = f"salesgrid_{name}"
        lines.append(
            f'          components.{name}.image.repository: "{{{{.IMAGE_REPO_{var}}}}}"\n'
            f'          components.{name}.image.tag: "{{{{.IMAGE_TAG_{var}}}}}"\n'
        )
    _, _, profiles = current.partition(MARK)
    return "".join(lines) + MARK + profiles


def main(argv: list[str]) -> int:
    current = SKAFFOLD.read_text(encoding="utf-8")
    wanted = render(current)
    if argv[1:] == ["--check"]:
        if current != wanted:
            print("skaffold.yaml is not what services/roster.toml gives: run `make roster`", file=sys.stderr)
            return 1
        return 0
    SKAFFOLD.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
