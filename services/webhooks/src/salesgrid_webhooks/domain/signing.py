"""Standard Webhooks signatures (https://www.standardwebhooks.com): the signed content is
`{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the secret's bytes, sent as
`webhook-signature: v1,<base64>`; during a secret rotation one `v1,` signature per valid secret,
space-separated, so receivers holding either secret verify. Secrets are `whsec_` + base64 of 32
random bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), content, hashlib.sha256).digest()).decode()


def signature_header(valid_secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in valid_secrets)


def headers(valid_secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(valid_secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str, msg_id: str, timestamp: int, body: bytes, header: str, now: int, tolerance_seconds: int = 300
) -> bool:
    """What a receiver does: a fresh timestamp and one matching v1 signature (constant time)."""
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split(" "))
