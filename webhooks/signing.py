"""Signing a webhook body (docs/webhooks.md): `Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
of "t.body" with the endpoint's secret>`. Standard library only; the receiver's check is the
snippet in docs/webhooks.md."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Shop-Signature"
EVENT_ID_HEADER = "Shop-Event-Id"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret for an endpoint (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `Shop-Signature` header's value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
