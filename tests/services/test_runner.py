"""The embedded runner: a port already in use is refused at once with the port named (no hang),
and a second run over the same data directory keeps the data (migrations and the bootstrap are
idempotent)."""
from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from salesgrid_dev.platform import Platform, Ports
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
