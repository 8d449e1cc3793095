"""A webhook subscription and one delivery of its log, as plain values. The subscription carries
its owner's scope snapshot (unit path, permissions, roles, and an API key owner's responsible
person and expiry): deliveries follow the scope of whoever last set it up, its owner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from salesgrid_common.errors import FailedPrecondition


@dataclass
class OwnerScope:
    """The owner's scope when he created or last updated the subscription."""

    org_path: str
    permissions: dict[str, str]
    roles: list[str]
    responsible_id: str = ""
    expires_at: datetime | None = None


@dataclass
class Subscription:
    id: str
    owner_id: str
    owner_kind: str
    url: str
    description: str
    event_types: list[str]
    secret: str  # sealed
    created_at: datetime
    scope: OwnerScope
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    enabled: bool = True
    disabled_reason: str = ""
    failing_since: datetime | None = None
    deleted: bool = False
    version: int = 1  # of the stored subscription: bumped by every save (optimistic concurrency)

    def take_scope(self, actor_id: str, scope: OwnerScope) -> None:
        """Only the owner's own changes refresh the snapshot (an admin's edit keeps the owner's)."""
        if actor_id == self.owner_id:
            self.scope = scope

    def set_enabled(self, enabled: bool, now: datetime) -> None:
        if enabled and self.scope.expires_at is not None and self.scope.expires_at <= now:
            raise FailedPrecondition("the owning API key has expired: subscribe again with a valid key")
        self.enabled = enabled
        if enabled:
            self.disabled_reason, self.failing_since = "", None

    def delete(self) -> None:
        self.deleted, self.enabled, self.disabled_reason = True, False, "deleted"

    def rotate(self, sealed_secret: str, now: datetime, overlap: timedelta) -> None:
        """The new secret signs from now on; the old one is still accepted for `overlap`."""
        self.previous_secret, self.previous_secret_expires_at = self.secret, now + overlap
        self.secret = sealed_secret


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: datetime
    status_code: int
    latency_ms: int
    error: str


@dataclass
class Delivery:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str  # pending | succeeded | failed
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status_code: int = 0
    last_latency_ms: int = 0
    last_error: str = ""
    log: list[Attempt] = field(default_factory=list)

    def redeliver(self, now: datetime) -> None:
        self.status, self.next_attempt_at = "pending", now
