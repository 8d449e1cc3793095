"""Gunicorn settings for the gateway, shared by the image and the local runner
(`gunicorn -c python:salesgrid_gateway.gunicorn_conf 'salesgrid_gateway.app:create_app()'`).

Threaded workers: a request mostly waits on gRPC, and the worker's heartbeat does not depend on
one request, so a long streamed upload is not killed by the worker timeout as with sync workers.
Worker processes: WEB_CONCURRENCY (default: one per core; --workers on the command line wins).
Access logging is the gateway's own structured JSON line per request (salesgrid_gateway.access),
not gunicorn's text log."""
import os

bind = os.environ.get("SALESGRID_GATEWAY_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 2)))
worker_class = "gthread"
threads = int(os.environ.get("SALESGRID_GATEWAY_THREADS", "4"))
graceful_timeout = 20  # in-flight requests finish before the pod's termination grace period ends
accesslog = None
# The request line keeps gunicorn's limit (4094 bytes); over it, and for other requests gunicorn
# refuses itself, the answer is problem+json like the API's own errors.
limit_request_line = 4094

from salesgrid_gateway import wire_errors  # noqa: E402

wire_errors.install()
