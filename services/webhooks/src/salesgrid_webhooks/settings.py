"""The webhooks service's settings: the common ones plus delivery behaviour."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from salesgrid_common.settings import ServiceSettings

from salesgrid_webhooks.domain import retry
from salesgrid_webhooks.secretbox import SecretBox

# Published on purpose so that dev and test need no set-up; refused in prod.
DEV_SECRET_KEY = "salesgrid-dev-webhook-secret-key-not-for-production"


class WebhooksSettings(ServiceSettings):
    # Seconds between attempts, comma-separated; empty: the Standard Webhooks schedule (>24 h).
    retry_schedule: str = ""
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    max_in_flight: int = Field(default=64, ge=1)  # concurrent sends in this process
    max_in_flight_per_endpoint: int = Field(default=4, ge=1)  # one slow endpoint never takes them all
    disable_after_failing_seconds: float = Field(default=5 * 24 * 3600, gt=0)
    rotation_overlap_seconds: int = Field(default=24 * 3600, ge=0)
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    delivery_log_retention_days: float = Field(default=30, gt=0)  # finished deliveries, then deleted
    allow_http_endpoints: bool = False  # plain http:// endpoints (dev and tests only)
    # Encrypts the signing secrets at rest (at least 32 characters); required in prod.
    secret_key: SecretStr | None = None

    def secret_box(self) -> SecretBox:
        return SecretBox(self.secret_key.get_secret_value() if self.secret_key else DEV_SECRET_KEY)

    @property
    def schedule(self) -> tuple[float, ...]:
        return retry.parse_schedule(self.retry_schedule)

    @model_validator(mode="after")
    def _safe_for_prod(self) -> "WebhooksSettings":
        if self.environment == "prod":
            if not retry.covers_a_day(self.schedule):
                raise ValueError("SALESGRID_RETRY_SCHEDULE: retries must cover at least 24 hours")
            if self.allow_http_endpoints:
                raise ValueError("SALESGRID_ALLOW_HTTP_ENDPOINTS: endpoints must use https in prod")
            if self.secret_key is None or self.secret_key.get_secret_value() == DEV_SECRET_KEY:
                raise ValueError("SALESGRID_SECRET_KEY: set a key of your own (32+ characters) in prod")
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SALESGRID_SECRET_KEY: at least 32 characters")
        return self
