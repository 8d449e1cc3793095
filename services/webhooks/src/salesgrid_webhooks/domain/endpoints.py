"""Endpoint URLs: absolute http(s) with a host, no credentials; plain http only where allowed
(dev and tests, receivers on the same machine)."""

from __future__ import annotations

from urllib.parse import urlsplit

from salesgrid_common.errors import ValidationFailed


def validate_url(url: str, *, allow_http: bool, field: str = "url") -> str:
    url = url.strip()
    if len(url) > 2000:
        raise ValidationFailed("at most 2000 characters", field)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed("must be an absolute https:// URL", field)
    if parts.scheme == "http" and not allow_http:
        raise ValidationFailed("must use https", field)
    if parts.username or parts.password:
        raise ValidationFailed("must not carry credentials", field)
    return url
