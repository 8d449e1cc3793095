"""The service roster (services/roster.toml): the one list of the platform's services, read by
the runner, the chart and registry tests and the generator of skaffold.yaml (tools/roster.py);
the Makefile reads the file itself (it runs before the virtualenv exists)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ROSTER_FILE = ROOT / "services" / "roster.toml"


@dataclass(frozen=True)
class RosterService:
    name: str
    grpc_port: int

    @property
    def package(self) -> str:
        return f"services/{self.name}"


@lru_cache(maxsize=1)
def roster() -> tuple[RosterService, ...]:
    entries = tomllib.loads(ROSTER_FILE.read_text(encoding="utf-8"))["service"]
    services = tuple(RosterService(str(e["name"]), int(e["grpc_port"])) for e in entries)
    names = [s.name for s in services]
    if len(set(names)) != len(names) or len({s.grpc_port for s in services}) != len(services):
        raise ValueError(f"{ROSTER_FILE}: a service name or port appears twice")
    return services


def names() -> tuple[str, ...]:
    return tuple(s.name for s in roster())
