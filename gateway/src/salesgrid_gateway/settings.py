"""Gateway settings (SALESGRID_*), validated at start-up."""

from __future__ import annotations

from pydantic import Field, model_validator

from salesgrid_common.settings import BaseAppSettings


class GatewaySettings(BaseAppSettings):
    service_name: str = "gateway"
    http_port: int = Field(default=8080, ge=1, le=65535)
    identity_addr: str = Field(min_length=1)
    customers_addr: str = ""
    pipeline_addr: str = ""
    activities_addr: str = ""
    contracts_addr: str = ""
    analytics_addr: str = ""
    expenses_addr: str = ""
    webhooks_addr: str = ""
    # Header holding the client address when behind a trusted proxy (e.g. X-Forwarded-For);
    # empty: the socket peer address is used and such headers are ignored.
    trusted_proxy_header: str = ""
    # Requests per minute per principal, across all workers and replicas: people, partner keys.
    rate_limit_per_minute: int = Field(default=600, ge=1)
    api_key_rate_limit_per_minute: int = Field(default=1200, ge=1)
    # NATS JetStream key-value holds what every worker and replica shares (idempotency records,
    # rate-limit counters). Empty: per-process memory, allowed in dev and tests only.
    nats_url: str = ""
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # This cell's region: the gateway's own stream (sensitive-read records) lives there, as the
    # services' streams do.
    region: str = Field(default="", pattern=r"^[a-z0-9-]*$")
    shared_store_timeout_seconds: float = Field(default=2.0, gt=0)
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser
    grpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Uploads stream from the client through the call, so the client's bandwidth counts too.
    upload_timeout_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _shared_state_in_prod(self) -> "GatewaySettings":
        if self.environment == "prod" and not self.nats_url:
            raise ValueError(
                "SALESGRID_NATS_URL: the gateway keeps idempotency records and rate limits in NATS "
                "key-value; it is required in prod"
            )
        return self
