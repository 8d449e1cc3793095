"""Identity's signing keys and the JWKS it publishes (current key plus retired ones during a
rotation overlap, so tokens signed before the rotation stay valid until they expire)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import OKPAlgorithm

from salesgrid_common.errors import ValidationFailed


class SigningKeys:
    def __init__(self, private_key_pem: str, key_id: str, retired_jwks: str = "") -> None:
        key = load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValidationFailed("signing key must be an Ed25519 private key", "signing_key")
        self.private_key = key
        self.key_id = key_id
        self.retired: list[dict[str, Any]] = json.loads(retired_jwks)["keys"] if retired_jwks else []

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.key_id, "alg": "EdDSA", "use": "sig"}

    def jwks(self) -> str:
        retired = [key for key in self.retired if key.get("kid") != self.key_id]
        return json.dumps({"keys": [self.public_jwk(), *retired]})
