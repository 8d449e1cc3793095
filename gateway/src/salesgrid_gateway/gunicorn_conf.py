"""Gunicorn settings for the gateway, shared by the image and the local runner
(`gunicorn -c python:salesgrid_gateway.gunicorn_conf 'salesgrid_gateway.app:create_app()'`).

Workers run the gateway's ASGI app on uvicorn (wire_errors.GatewayWorker): one event loop per
process, every request a task, its gRPC calls on grpc.aio; the worker's heartbeat does not depend
on one request, so a long streamed upload is not killed by the worker timeout.
Worker processes: WEB_CONCURRENCY (default: one per core; --workers on the command line wins).
Access logging is the gateway's own structured JSON line per request (salesgrid_gateway.access),
not gunicorn's text log.

Metrics: each worker process has its own counters, so a scrape answered by one worker saw only its
share and counters seemed to reset as scrapes hit other workers (rates and SLOs went wrong). The
workers write their metrics to files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess
mode, set here before any worker imports prometheus_client) and /metrics sums them."""

import os
import shutil
import tempfile

bind = os.environ.get("SALESGRID_GATEWAY_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 2)))
worker_class = "salesgrid_gateway.wire_errors.GatewayWorker"
graceful_timeout = 20  # in-flight requests finish before the pod's termination grace period ends
accesslog = None

_made_dir = ""


def on_starting(server: object) -> None:
    """In the master, before any worker exists (so before a worker imports prometheus_client):
    the workers' metrics directory, empty (counts of a previous run are not carried over)."""
    global _made_dir
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
    else:
        _made_dir = tempfile.mkdtemp(prefix="salesgrid-gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_dir


def child_exit(server: object, worker: object) -> None:
    """A worker gone (restarted, or killed by the timeout): its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if _made_dir:
        shutil.rmtree(_made_dir, ignore_errors=True)
