"""The embedded runner: a port already in use is refused at once with the port named (no hang),
and a second run over the same data directory keeps the data (migrations and the bootstrap are
idempotent)."""
from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from salesgrid_dev.platform import Platform, Ports, operator_settings
from salesgrid_dev.processes import PortInUse


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    ports = Ports.free()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.grpc["pipeline"]))
        holder.listen()
        with pytest.raises(PortInUse, match=f"port {ports.grpc['pipeline']} \\(pipeline gRPC\\)"):
            Platform(tmp_path, ports).check_ports()


def test_a_second_run_keeps_the_data(tmp_path: Path) -> None:
    platform = Platform(tmp_path, Ports.free())
    platform.migrate()

    def admins() -> list[tuple[str, str]]:
        with sqlite3.connect(tmp_path / "db" / "identity.db") as db:
            return db.execute("SELECT id, login FROM users").fetchall()

    first = admins()
    assert [login for _, login in first] == ["admin"]
    platform.migrate()  # what the next `make run` does before starting the services
    assert admins() == first


def test_operator_settings_reach_the_right_processes(tmp_path: Path) -> None:
    """`make run` passes SALESGRID_* settings from .env and the environment (the environment
    wins) to every process, SALESGRID_<COMPONENT>__X to that component only; the runner's own
    wiring (ports, addresses) cannot be overridden by accident."""
    env_file = tmp_path / ".env"
    env_file.write_text("# demo settings\nSALESGRID_LOG_LEVEL=DEBUG\nSALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE=5\n"
                        "SALESGRID_CUSTOMERS__POOL_CAP=7\n")
    given = operator_settings({"SALESGRID_LOG_LEVEL": "WARNING", "PATH": "/bin"}, env_file)
    assert given == {"SALESGRID_LOG_LEVEL": "WARNING", "SALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE": "5",
                     "SALESGRID_CUSTOMERS__POOL_CAP": "7"}
    platform = Platform(tmp_path, Ports.free(), settings={**given, "SALESGRID_GRPC_PORT": "1"})
    customers = platform.service_env("customers")
    assert customers["SALESGRID_LOG_LEVEL"] == "WARNING" and customers["SALESGRID_POOL_CAP"] == "7"
    assert customers["SALESGRID_GRPC_PORT"] == str(platform.ports.grpc["customers"])
    assert "SALESGRID_RATE_LIMIT_PER_MINUTE" not in customers
    assert "SALESGRID_POOL_CAP" not in platform.service_env("pipeline")
    assert platform._base_env("gateway")["SALESGRID_RATE_LIMIT_PER_MINUTE"] == "5"
