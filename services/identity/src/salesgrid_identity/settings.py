"""Identity's settings: the common service settings plus signing keys and security policies."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from salesgrid_common.settings import ServiceSettings

# Published on purpose so that dev and test need no set-up; refused outside dev and test.
DEV_SIGNING_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEICKbLbzVroOrcPgPOqNNwbbu8dRYchQLwiNfPG0O8q5g
-----END PRIVATE KEY-----
"""


class IdentitySettings(ServiceSettings):
    identity_addr: str = "self"  # identity verifies tokens with its own keys
    signing_key: SecretStr | None = None  # Ed25519 private key, PEM
    signing_key_id: str = Field(default="dev-1", min_length=1)
    # JWKS document (JSON) of retired public keys still accepted during a rotation overlap.
    retired_public_keys: str = ""
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=3600)
    api_key_token_ttl_seconds: int = Field(default=300, ge=60, le=3600)
    password_min_length: int = Field(default=10, ge=8)
    password_expiry_days: int | None = Field(default=90, ge=1)
    lockout_max_failures: int = Field(default=5, ge=1)
    # Past this many failures in the window an address is throttled, never blocked as a whole
    # (domain/throttling.py): failures get a growing pause, a login failing this often from it is refused.
    lockout_max_failures_per_ip: int = Field(default=20, ge=1)
    login_throttle_failures_per_login: int = Field(default=3, ge=1)
    login_throttle_delay_ms: int = Field(default=250, ge=0)
    login_throttle_max_delay_ms: int = Field(default=2000, ge=0, le=10000)
    lockout_minutes: int = Field(default=15, ge=1)

    @model_validator(mode="after")
    def _signing_key_for_environment(self) -> "IdentitySettings":
        key = self.signing_key.get_secret_value() if self.signing_key else None
        if self.environment == "prod":
            if not key:
                raise ValueError("SALESGRID_SIGNING_KEY: required in prod (an Ed25519 private key in PEM)")
            if key.strip() == DEV_SIGNING_KEY.strip():
                raise ValueError("SALESGRID_SIGNING_KEY: the published dev key is not allowed outside dev and test")
        return self

    def private_key_pem(self) -> str:
        return self.signing_key.get_secret_value() if self.signing_key else DEV_SIGNING_KEY
