"""Example: keep a partner system's copy of Salesgrid customers in step, with the typed client.

- `sync_customers` pulls what changed since the last run: `updated_since` = the newest
  `updated_at` seen last time minus an overlap (records written while a run pages through
  arrive in the next one; seeing one twice is harmless, the copy is upserted), paging with
  `cursor` until `next_cursor` is empty.
- `WebhookReceiver` takes Salesgrid's webhooks (Standard Webhooks: it verifies `webhook-signature`
  with the subscription's secret and drops anything else), remembers each `webhook-id` once
  (deliveries are at-least-once) and calls back, e.g. to run `sync_customers` at once instead of
  waiting for the next poll.

Run: `python tools/genclient.py` (make client) generates `salesgrid_client` next to this folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from salesgrid_client import AuthenticatedClient
from salesgrid_client.api.customers import get_v1_customers
from salesgrid_client.models import GetV1CustomersResponse200
from salesgrid_client.types import UNSET
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class SyncState:
    watermark: str | None = None  # newest updated_at seen (ISO 8601)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # the partner's copy, by id


def sync_customers(
    client: AuthenticatedClient, state: SyncState, *, page_size: int = 200, overlap: timedelta = timedelta(minutes=5)
) -> list[str]:
    """Fetch customers changed since the last run into `state`; returns the ids fetched."""
    since = None
    if state.watermark:
        since = datetime.fromisoformat(state.watermark.replace("Z", "+00:00")) - overlap
    fetched: list[str] = []
    cursor: str | None = None
    while True:
        page = get_v1_customers.sync(
            client=client, updated_since=since or UNSET, limit=page_size, cursor=cursor or UNSET
        )
        if not isinstance(page, GetV1CustomersResponse200):
            raise RuntimeError(f"listing customers failed: {page}")
        for item in page.items:
            record = item.to_dict()
            state.customers[record["id"]] = record
            fetched.append(record["id"])
            if record.get("updated_at") and (state.watermark is None or record["updated_at"] > state.watermark):
                state.watermark = record["updated_at"]
        cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
        if not cursor:
            return fetched


class WebhookReceiver:
    """A small HTTP endpoint for Salesgrid webhooks (use a real web framework in production)."""

    def __init__(
        self, secret: str, on_event: Callable[[dict[str, Any]], None], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        verifier = Webhook(secret)
        seen: set[str] = set()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    event = verifier.verify(body, {k.lower(): v for k, v in self.headers.items()})
                except WebhookVerificationError:
                    self.send_response(401)
                    self.end_headers()
                    return
                with lock:
                    first = self.headers["webhook-id"] not in seen
                    seen.add(self.headers["webhook-id"])
                if first:
                    on_event(event)
                self.send_response(204)  # answer fast; long work belongs in a queue
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/salesgrid"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
