"""A real HTTP receiver of webhooks on 127.0.0.1 for tests: endpoints that verify every
signature with the standardwebhooks library (an independent implementation of the Standard
Webhooks convention), and that fail, hang or recover as each test scripts them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook


class Receiver:
    """HTTP endpoints on 127.0.0.1: each message (webhook-id) at a path is answered from the
    path's script, attempt by attempt (a status, or 'hang' to outlast the sender's timeout),
    then 200; every request's signature is verified."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Any]] = {}
        self.secrets: dict[str, list[str]] = {}
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = {s: _verifies(s, body, headers) for s in receiver.secrets.get(self.path, [])}
                script = receiver.scripts.get(self.path, [])
                seen = len([r for r in receiver.at(self.path) if r["id"] == headers.get("webhook-id")])
                action = script[seen] if seen < len(script) else 200
                receiver.received.append(
                    {
                        "path": self.path,
                        "id": headers.get("webhook-id"),
                        "body": json.loads(body),
                        "verified": verified,
                        "signature": headers.get("webhook-signature", ""),
                        "action": action,
                        "at": time.monotonic(),
                    }
                )
                if action == "hang":
                    time.sleep(1.5)
                    action = 200
                try:
                    self.send_response(action)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
        return True
    except Exception:
        return False


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
