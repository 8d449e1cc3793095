"""The embedded platform: a real nats-server, every service (SERVICES) and the gateway as local
processes, each service with its own SQLite file under one data directory. Used by `make run`,
the integration tests and the benchmarks alike."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from salesgrid_common.backup import backup
from salesgrid_dev import roster
from salesgrid_dev.monitoring import PrometheusServer, prometheus_for
from salesgrid_dev.processes import NatsServer, ensure_free, free_port, spawn_child, wait_for_port
from salesgrid_dev.supervisor import Supervisor

SERVICES = roster.names()  # services/roster.toml
# Per-service settings of the embedded platform (dev): webhooks may call http:// receivers.
SERVICE_ENV = {"webhooks": {"SALESGRID_ALLOW_HTTP_ENDPOINTS": "true"}}
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "Sg-Demo-2026!x"


@dataclass
class Ports:
    http: int
    nats: int
    grpc: dict[str, int]
    metrics: dict[str, int]
    runner: int = 0  # the supervising runner's /readyz and /metrics
    prometheus: int = 0  # Prometheus scraping the platform (make run, when installed)

    @classmethod
    def from_base(cls, base: int) -> "Ports":
        """http=base, nats=base+1, gRPC base+10.., metrics base+20.., runner base+30, Prometheus
        base+31 (see the README)."""
        return cls(
            http=base,
            nats=base + 1,
            grpc={s: base + 10 + i for i, s in enumerate(SERVICES)},
            metrics={s: base + 20 + i for i, s in enumerate(SERVICES)},
            runner=base + 30,
            prometheus=base + 31,
        )

    @classmethod
    def free(cls) -> "Ports":
        return cls(
            http=free_port(),
            nats=free_port(),
            grpc={s: free_port() for s in SERVICES},
            metrics={s: free_port() for s in SERVICES},
            runner=free_port(),
            prometheus=free_port(),
        )


def operator_settings(environ: dict[str, str] | None = None, env_file: Path | None = None) -> dict[str, str]:
    """The `SALESGRID_*` settings an operator gives the embedded platform: from a `.env` file
    (KEY=VALUE lines, `#` comments) overridden by the environment. `SALESGRID_<COMPONENT>__<NAME>`
    (e.g. `SALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE`, `SALESGRID_CUSTOMERS__LOG_LEVEL`) applies to
    that component only; the rest to every process."""
    found: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.startswith("SALESGRID_") and not key.startswith("#"):
                found[key.strip()] = value.strip().strip('"').strip("'")
    found.update({k: v for k, v in (os.environ if environ is None else environ).items() if k.startswith("SALESGRID_")})
    return found


def settings_for(component: str, given: dict[str, str]) -> dict[str, str]:
    """The operator settings one component sees (its own `SALESGRID_<COMPONENT>__X` as `SALESGRID_X`)."""
    prefix = f"SALESGRID_{component.upper()}__"
    common = {k: v for k, v in given.items() if "__" not in k}
    own = {f"SALESGRID_{k[len(prefix) :]}": v for k, v in given.items() if k.startswith(prefix)}
    return {**common, **own}


@dataclass
class Platform:
    data_dir: Path
    ports: Ports
    environment: str = "dev"
    gateway_workers: int = 2
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats: NatsServer | None = None
    supervisor: Supervisor | None = None
    # Operator settings (see operator_settings); the runner's own wiring (addresses, ports,
    # database files) is set after them and wins, except a component's own DATABASE_URL.
    settings: dict[str, str] = field(default_factory=dict)
    # Start a Prometheus configured from the chart (monitoring.py) with the platform; make run
    # does when it is installed, unless SALESGRID_RUNNER__PROMETHEUS=false.
    with_prometheus: bool = False
    prometheus: "PrometheusServer | None" = None
    prometheus_error: str = ""  # why it did not start (the platform runs on without it)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    def database_url(self, service: str) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir / 'db' / f'{service}.db'}"

    def _base_env(self, component: str = "") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGRID_")}
        env.update(settings_for(component, self.settings) if component else {})
        env.update(
            {
                "SALESGRID_ENVIRONMENT": self.environment,
                "SALESGRID_IDENTITY_ADDR": f"127.0.0.1:{self.ports.grpc['identity']}",
                **{f"SALESGRID_{s.upper()}_ADDR": f"127.0.0.1:{self.ports.grpc[s]}" for s in SERVICES},
            }
        )
        return env

    def service_env(self, service: str, **overrides: str) -> dict[str, str]:
        own = settings_for(service, self.settings)
        return {
            **self._base_env(service),
            "SALESGRID_DATABASE_URL": own.get("SALESGRID_DATABASE_URL") or self.database_url(service),
            "SALESGRID_NATS_URL": f"nats://127.0.0.1:{self.ports.nats}",
            "SALESGRID_GRPC_PORT": str(self.ports.grpc[service]),
            "SALESGRID_GRPC_HOST": "127.0.0.1",
            "SALESGRID_METRICS_PORT": str(self.ports.metrics[service]),
            "SALESGRID_SHUTDOWN_GRACE_SECONDS": "5",
            **SERVICE_ENV.get(service, {}),
            **overrides,
        }

    def _log(self, name: str) -> "object":
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        return open(self.data_dir / "logs" / f"{name}.log", "ab")

    def check_ports(self) -> None:
        ensure_free(self.ports.http, "gateway HTTP")
        ensure_free(self.ports.nats, "nats")
        if self.ports.runner:
            ensure_free(self.ports.runner, "runner status")
        if self.with_prometheus:
            ensure_free(self.ports.prometheus, "prometheus")
        for service in SERVICES:
            ensure_free(self.ports.grpc[service], f"{service} gRPC")
            ensure_free(self.ports.metrics[service], f"{service} metrics")

    def migrate(self) -> None:
        (self.data_dir / "db").mkdir(parents=True, exist_ok=True)

        def run(service: str) -> None:
            result = subprocess.run(
                [sys.executable, "-m", f"salesgrid_{service}", "migrate"],
                env=self.service_env(service),
                capture_output=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"{service} migrate failed:\n{result.stderr.decode()[-3000:]}")

        with ThreadPoolExecutor(len(SERVICES)) as pool:
            list(pool.map(run, SERVICES))
        result = subprocess.run(
            [sys.executable, "-m", "salesgrid_identity", "bootstrap"],
            capture_output=True,
            env=self.service_env(
                "identity", SALESGRID_ADMIN_LOGIN=ADMIN_LOGIN, SALESGRID_ADMIN_PASSWORD=ADMIN_PASSWORD
            ),
        )
        if result.returncode != 0:
            raise RuntimeError(f"identity bootstrap failed:\n{result.stderr.decode()[-3000:]}")

    def _spawn_service(self, service: str, **overrides: str) -> subprocess.Popen[bytes]:
        process = spawn_child(
            [sys.executable, "-m", f"salesgrid_{service}", "serve"],
            env=self.service_env(service, **overrides),
            stdout=self._log(service),
            stderr=subprocess.STDOUT,
        )
        self.processes[service] = process
        return process

    def start_service(self, service: str, **overrides: str) -> None:
        self._spawn_service(service, **overrides)
        self.wait_serving(service)

    def wait_serving(self, service: str, timeout: float = 30.0) -> None:
        address = f"127.0.0.1:{self.ports.grpc[service]}"
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    log = self.data_dir / "logs" / (service + ".log")
                    # The log's end goes with the error: a temporary data directory (benchmarks,
                    # tests) is gone by the time anyone reads the path.
                    tail = log.read_text(errors="replace").splitlines()[-40:] if log.exists() else []
                    raise RuntimeError(
                        f"{service} exited with code {process.returncode}; see {log}; its last lines:\n"
                        + "\n".join(tail)
                    )
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(f"{service} was not SERVING on {address} within {timeout}s")

    def start_gateway(self) -> None:
        self._spawn_gateway()

    def _spawn_gateway(self) -> subprocess.Popen[bytes]:
        """The gateway on the platform's HTTP port, ready (also how the supervisor restarts it)."""
        process = self.run_gateway(self.ports.http, self.gateway_workers)
        self.processes["gateway"] = process
        return process

    def run_gateway(self, port: int, workers: int, **overrides: str) -> subprocess.Popen[bytes]:
        """A gateway process (gunicorn) on `port`, ready; more than one is a set of replicas."""
        # The gateway's /metrics is served on its HTTP port; no separate metrics server.
        env = {
            **self._base_env("gateway"),
            "SALESGRID_HTTP_PORT": str(port),
            "SALESGRID_METRICS_PORT": "0",
            "SALESGRID_NATS_URL": f"nats://127.0.0.1:{self.ports.nats}",
            **overrides,
        }
        process = spawn_child(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:salesgrid_gateway.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--graceful-timeout",
                "5",
                "salesgrid_gateway.app:create_app()",
            ],
            env=env,
            stdout=self._log("gateway" if port == self.ports.http else f"gateway-{port}"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, 30, process, "gateway")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        return process
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            raise TimeoutError("gateway did not become ready")
        except BaseException:
            process.kill()
            raise

    def start(self) -> "Platform":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.check_ports()
        self.nats = NatsServer(self.data_dir / "nats", self.ports.nats)
        self.nats.spawn = spawn_child
        self.nats.start()
        try:
            self.migrate()
            # Every service at once, then wait for each: one by one, each waited for the
            # previous one's imports and start (a consumer of a stream not declared yet waits
            # for it, and SERVING never meant a service's consumers were attached).
            for service in SERVICES:
                self._spawn_service(service)
            for service in SERVICES:
                self.wait_serving(service, timeout=60.0)
            self.start_gateway()
            if self.with_prometheus:
                try:
                    self.start_prometheus()
                except Exception as exc:  # noqa: BLE001 - the platform runs without it
                    self.prometheus_error = str(exc) or type(exc).__name__
                    if self.prometheus is not None:
                        self.prometheus.stop()
                    self.prometheus = None
        except BaseException:
            self.stop()
            raise
        return self

    def start_prometheus(self, interval: str = "5s") -> PrometheusServer:
        """Prometheus on its port, scraping every process as the chart's ServiceMonitors say."""
        self.prometheus = prometheus_for(self, self.ports.prometheus, interval=interval)
        self.prometheus.spawn = spawn_child
        self.prometheus.start()
        return self.prometheus

    def supervise(self, on_event: Callable[[str], None] = print) -> Supervisor:
        """Restart any child that exits unasked (see supervisor.py); stop() stops it first."""
        supervisor = Supervisor(on_event=on_event)
        if self.nats is not None and self.nats.process is not None:
            nats = self.nats

            def restart_nats() -> subprocess.Popen[bytes]:
                nats.start()
                assert nats.process is not None
                return nats.process

            supervisor.watch("nats", self.nats.process, restart_nats)
        for service in SERVICES:
            if service in self.processes:
                supervisor.watch(service, self.processes[service], lambda s=service: self._spawn_service(s))
        if "gateway" in self.processes:
            supervisor.watch("gateway", self.processes["gateway"], self._spawn_gateway)
        if self.prometheus is not None and self.prometheus.process is not None:
            supervisor.watch("prometheus", self.prometheus.process, self.prometheus.start)
        self.supervisor = supervisor.start(self.ports.runner)
        return supervisor

    def backup_all(self, keep: int = 7) -> list[Path]:
        """An online backup of every service's SQLite database into <data>/backups (backup.py)."""
        return [
            backup(self.database_url(service), self.data_dir / "backups", service, keep=keep) for service in SERVICES
        ]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        process.send_signal(sig)
        process.wait(15)

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()  # no restarts while stopping
            self.supervisor = None
        for name in ["gateway", *reversed(SERVICES)]:
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in list(self.processes.items()):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
            self.processes.pop(name, None)
        if self.prometheus is not None:
            self.prometheus.stop()
            self.prometheus = None
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
