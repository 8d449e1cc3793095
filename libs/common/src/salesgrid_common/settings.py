"""Typed settings from the environment (prefix SALESGRID_). Building them fails fast, naming
the variable, when a value is missing or unsafe for the environment."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "prod"]


class SettingsError(RuntimeError):
    """Raised at start-up with a readable list of what is wrong in the environment."""


class BaseAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALESGRID_", extra="ignore", frozen=True)

    # prod is the default so that a forgotten variable can never switch on dev shortcuts.
    environment: Environment = "prod"
    service_name: str = Field(min_length=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_port: int = Field(default=9464, ge=0, le=65535)  # 0 = no metrics endpoint
    otlp_endpoint: str | None = None
    # Share of new traces recorded and exported (a caller's sampled traceparent is always followed).
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    jwt_issuer: str = "salesgrid-identity"
    jwt_audience: str = "salesgrid"

    @property
    def is_dev(self) -> bool:
        return self.environment in ("dev", "test")


class ServiceSettings(BaseAppSettings):
    database_url: str = Field(min_length=1)
    nats_url: str = Field(min_length=1)
    grpc_port: int = Field(ge=1, le=65535)
    grpc_host: str = "0.0.0.0"
    identity_addr: str = Field(min_length=1, description="host:port of identity, for JWKS")
    stream_replicas: int = Field(default=1, ge=1, le=5)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    relay_enabled: bool = True  # off only to prove crash recovery in tests
    # The process's event loop: uvloop cut a trivial gRPC call's server CPU by about a tenth
    # (docs/performance.md, tenth round); "asyncio" is the standard library's loop.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # How long published outbox rows are kept (for inspection and replay) before the relay
    # deletes them, in hours of the service's clock.
    outbox_retention_hours: float = Field(default=24.0, gt=0)
    # Multi-region cells: this cell's region, and (HQ read models only) the regions whose
    # streams are sourced into aggregate streams here, comma-separated.
    region: str = Field(default="", pattern=r"^[a-z0-9-]*$")
    source_regions: str = Field(default="", pattern=r"^[a-z0-9,-]*$")

    @property
    def source_region_list(self) -> tuple[str, ...]:
        return tuple(r for r in self.source_regions.split(",") if r)

    @model_validator(mode="after")
    def _safe_for_environment(self) -> "ServiceSettings":
        if self.environment == "prod" and self.database_url.startswith("sqlite"):
            raise ValueError("SALESGRID_DATABASE_URL: SQLite is for dev and tests; use PostgreSQL in prod")
        if self.environment == "prod" and not self.relay_enabled:
            raise ValueError("SALESGRID_RELAY_ENABLED: the outbox relay cannot be disabled in prod")
        return self


S = TypeVar("S", bound=BaseAppSettings)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings, turning pydantic's report into one clear start-up error."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"])
            name = f"SALESGRID_{loc.upper()}" if loc else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
