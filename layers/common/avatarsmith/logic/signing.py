"""Standard Webhooks signing (https://www.standardwebhooks.com): `whsec_` secrets, HMAC-SHA256 over
"{webhook-id}.{webhook-timestamp}.{body}", `webhook-signature: v1,<base64>` (space-separated when more
than one secret is active, e.g. during a rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(active_secrets: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(s, webhook_id, timestamp, body) for s in active_secrets)


def webhook_headers(
    active_secrets: list[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "Avatarsmith-Webhooks/1",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(active_secrets, webhook_id, timestamp, body),
    }


def secret_fingerprint(secret: str) -> str:
    """A short, non-reversible hint shown instead of a secret (to tell rotated secrets apart)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()[:6]).decode()
