"""Verify Avatarsmith webhooks (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, `whsec_` secrets)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from .errors import AvatarsmithError

TOLERANCE_SECONDS = 300


class WebhookVerificationError(AvatarsmithError):
    code = "webhook_verification_failed"


def _secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("the webhook secret is not a whsec_ base64 secret") from exc


def verify_webhook(
    secret: str | list[str],
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """Check a delivery's signature against the raw request body and return the parsed payload.

    `secret` may be a list (old and new secret while a rotation overlaps). Raises
    `WebhookVerificationError` when a header is missing, the timestamp is outside the tolerance, or no
    signature matches. Pass the body exactly as received: re-serialised JSON does not verify."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent_at = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance (replayed or clock skew)")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    signed = f"{msg_id}.{stamp}.".encode() + raw
    candidates = {sig.split(",", 1)[1] for sig in signatures.split() if sig.startswith("v1,") and "," in sig}
    for one in [secret] if isinstance(secret, str) else secret:
        expected = base64.b64encode(hmac.new(_secret_bytes(one), signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return json.loads(raw)
    raise WebhookVerificationError("no webhook signature matches the secret")
