"""The embedded runner's supervision of its children (nats-server, services, gateway): a child
that exits without being asked to is restarted with back-off (1 s, 2 s, 4 s … 30 s; back to 1 s
once it stayed up a minute), each restart logged; `/readyz` (200 only while every child runs)
and `/metrics` (restarts and up-ness per child) on the runner's own status port."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

log = logging.getLogger("salesgrid.runner")

Starter = Callable[[], subprocess.Popen[bytes]]
STABLE_SECONDS = 60.0


@dataclass
class Child:
    name: str
    start: Starter
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = 1.0
    restart_at: float | None = None  # set while down, waiting to be restarted
    restarts: int = 0
    last_exit: int | None = None

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Supervisor:
    max_backoff: float = 30.0
    poll_seconds: float = 0.2
    on_event: Callable[[str], None] = print
    children: dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.registry = CollectorRegistry()
        self.restarts = Counter(
            "salesgrid_runner_restarts", "Children restarted after exiting unasked", ["process"], registry=self.registry
        )
        self.up_gauge = Gauge(
            "salesgrid_runner_process_up", "1 while the child process runs", ["process"], registry=self.registry
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: ThreadingHTTPServer | None = None

    def watch(self, name: str, process: subprocess.Popen[bytes], start: Starter) -> None:
        """Supervise a running child; `start` starts it again (without waiting for readiness)."""
        with self._lock:
            self.children[name] = Child(name, start, process, time.monotonic())
        self.up_gauge.labels(name).set(1)

    def forget(self, name: str) -> None:
        """Stop supervising a child (it is being stopped on purpose)."""
        with self._lock:
            self.children.pop(name, None)

    def start(self, status_port: int = 0) -> "Supervisor":
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()
        if status_port:
            self._server = ThreadingHTTPServer(("127.0.0.1", status_port), _handler(self))
            threading.Thread(target=self._server.serve_forever, name="runner-status", daemon=True).start()
        return self

    def stop(self) -> None:
        """No more restarts (call before stopping the children)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def ready(self) -> bool:
        with self._lock:
            return all(child.up for child in self.children.values())

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                name: {"up": child.up, "restarts": child.restarts, "last_exit": child.last_exit}
                for name, child in self.children.items()
            }

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            with self._lock:
                children = list(self.children.values())
            for child in children:
                self._check(child)

    def _check(self, child: Child) -> None:
        now = time.monotonic()
        if child.up:
            if child.backoff > 1.0 and now - child.started_at > STABLE_SECONDS:
                child.backoff = 1.0
            return
        if child.restart_at is None:  # just found dead
            child.last_exit = child.process.returncode if child.process is not None else None
            child.restart_at = now + child.backoff
            self.up_gauge.labels(child.name).set(0)
            self.on_event(
                f"salesgrid: {child.name} exited with code {child.last_exit}; restarting in {child.backoff:g}s"
            )
            return
        if now < child.restart_at or self._stop.is_set():
            return
        try:
            process = child.start()
        except Exception as exc:
            self.on_event(f"salesgrid: restarting {child.name} failed: {exc}")
            child.backoff = min(self.max_backoff, child.backoff * 2)
            child.restart_at = now + child.backoff
            return
        with self._lock:
            if child.name not in self.children or self._stop.is_set():
                process.terminate()  # stopped on purpose meanwhile
                return
            child.process, child.started_at, child.restart_at = process, time.monotonic(), None
            child.restarts += 1
            child.backoff = min(self.max_backoff, child.backoff * 2)
        self.restarts.labels(child.name).inc()
        self.up_gauge.labels(child.name).set(1)
        self.on_event(f"salesgrid: {child.name} restarted (restart #{child.restarts}, pid {process.pid})")


def _handler(supervisor: Supervisor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/readyz":
                ready = supervisor.ready()
                body = json.dumps(
                    {"status": "ready" if ready else "degraded", "processes": supervisor.status()}
                ).encode()
                self._reply(200 if ready else 503, "application/json", body)
            elif self.path == "/metrics":
                self._reply(200, "text/plain; version=0.0.4", generate_latest(supervisor.registry))
            else:
                self._reply(404, "text/plain", b"not found")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
