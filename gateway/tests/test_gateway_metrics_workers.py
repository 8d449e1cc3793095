"""The gateway's gunicorn workers each count their own requests; /metrics answers the sum over all
workers (prometheus_client's multiprocess mode, set up by gunicorn_conf), so a scrape does not
depend on which worker answers it and counters never seem to go back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx

from salesgrid_dev.processes import free_port, wait_for_port

REQUESTS = 40


def healthz_count(text: str) -> float:
    found = re.search(r'^http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_are_the_sum_over_the_workers() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESGRID_", "PROMETHEUS_MULTIPROC"))}
    env.update(SALESGRID_ENVIRONMENT="test", SALESGRID_IDENTITY_ADDR="127.0.0.1:1", SALESGRID_METRICS_PORT="0")
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:salesgrid_gateway.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "salesgrid_gateway.app:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, 60, gateway, "gateway")
        # The workers load the app after the port is bound: wait (on another route) until they answer.
        deadline = time.monotonic() + 60
        while httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=60).status_code != 200:
            assert time.monotonic() < deadline
        for _ in range(REQUESTS):  # a new connection each: the workers share them
            with httpx.Client(timeout=30) as client:
                assert (
                    client.get(f"http://127.0.0.1:{port}/healthz", headers={"Connection": "close"}).status_code == 200
                )
        scrapes = []
        for _ in range(6):
            with httpx.Client(timeout=30) as client:
                scrapes.append(healthz_count(client.get(f"http://127.0.0.1:{port}/metrics").text))
            time.sleep(0.05)
        assert scrapes == [REQUESTS] * len(scrapes)
    finally:
        gateway.terminate()
        gateway.wait(20)
    assert gateway.stderr is not None
    gateway.stderr.close()
