"""Signing secrets are kept encrypted (Fernet: AES-128-CBC + HMAC-SHA256) under a key from the
service's settings (SALESGRID_SECRET_KEY), so a copy of the database alone cannot forge
deliveries. HMAC signing needs the secret itself, so it is decrypted only to sign."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet


class SecretBox:
    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the secret key needs at least 32 characters")
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()
