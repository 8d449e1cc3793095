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
    env_file.write_text(
        "# demo settings\nSALESGRID_LOG_LEVEL=DEBUG\nSALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE=5\n"
        "SALESGRID_CUSTOMERS__POOL_CAP=7\n"
    )
    given = operator_settings({"SALESGRID_LOG_LEVEL": "WARNING", "PATH": "/bin"}, env_file)
    assert given == {
        "SALESGRID_LOG_LEVEL": "WARNING",
        "SALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE": "5",
        "SALESGRID_CUSTOMERS__POOL_CAP": "7",
    }
    platform = Platform(tmp_path, Ports.free(), settings={**given, "SALESGRID_GRPC_PORT": "1"})
    customers = platform.service_env("customers")
    assert customers["SALESGRID_LOG_LEVEL"] == "WARNING" and customers["SALESGRID_POOL_CAP"] == "7"
    assert customers["SALESGRID_GRPC_PORT"] == str(platform.ports.grpc["customers"])
    assert "SALESGRID_RATE_LIMIT_PER_MINUTE" not in customers
    assert "SALESGRID_POOL_CAP" not in platform.service_env("pipeline")
    assert platform._base_env("gateway")["SALESGRID_RATE_LIMIT_PER_MINUTE"] == "5"


def test_make_run_starts_prometheus_unless_the_runner_setting_says_no(tmp_path: Path) -> None:
    """`make run` starts Prometheus when it is installed (SALESGRID_RUNNER__PROMETHEUS=false skips
    it): one scrape job per ServiceMonitor of the chart, each at the platform's own port for that
    process, the chart's rules loaded; it stops with the platform."""
    import time

    import httpx

    from salesgrid_dev.monitoring import prometheus_binary, prometheus_wanted
    from salesgrid_dev.platform import SERVICES, settings_for

    env_file = tmp_path / ".env"
    env_file.write_text("SALESGRID_RUNNER__PROMETHEUS=false\n")
    assert not prometheus_wanted(settings_for("runner", operator_settings({}, env_file)))
    assert prometheus_wanted(settings_for("runner", operator_settings({}, None)))
    assert prometheus_wanted(
        settings_for("runner", operator_settings({"SALESGRID_RUNNER__PROMETHEUS": "true"}, env_file))
    )
    if prometheus_binary() is None:
        pytest.fail("prometheus not found: install Debian's prometheus package (make test-deps does)")
    platform = Platform(tmp_path, Ports.free(), with_prometheus=True)
    server = platform.start_prometheus(interval="1s")
    try:
        targets = {}
        for _ in range(100):  # Prometheus applies discovered targets every few seconds
            found = httpx.get(f"{server.url}/api/v1/targets").json()["data"]["activeTargets"]
            targets = {t["labels"]["component"]: t["scrapeUrl"] for t in found}
            if len(targets) == len(SERVICES) + 1:
                break
            time.sleep(0.1)
        assert targets == {
            **{s: f"http://127.0.0.1:{platform.ports.metrics[s]}/metrics" for s in SERVICES},
            "gateway": f"http://127.0.0.1:{platform.ports.http}/metrics",
        }
        rules = httpx.get(f"{server.url}/api/v1/rules").json()["data"]["groups"]
        assert "SalesgridGatewayAvailabilityBudgetBurnFast" in {r["name"] for g in rules for r in g["rules"]}
    finally:
        platform.stop()
    assert server.process is not None and server.process.poll() is not None
