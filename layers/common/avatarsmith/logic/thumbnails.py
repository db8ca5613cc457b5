"""Thumbnails made on request: an image is stored once, and its 256 px thumbnail is rendered when a client
fetches it (most never do), instead of being encoded and stored with every image.

A thumbnail link is `<api>/v1/thumbnails/<token>`. Like a presigned S3 URL it needs no API key (it works in
an `<img>` tag) and expires: the token names one image and an expiry time, signed with HMAC-SHA256 under a
key the stack keeps in its table (created on first use), so it cannot be made for another image or
stretched. Images stored with a thumbnail object keep their presigned thumbnail link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from avatarsmith.errors import NotFoundError, StorageError, StoredImageUnreadableError

if TYPE_CHECKING:
    from avatarsmith.dal.table import Table
    from avatarsmith.logic.services import Services

THUMBNAIL_PATH = "/v1/thumbnails/"
SIGNING_KEY_PK, SIGNING_KEY_SK = "SYSTEM", "THUMBNAIL_SIGNING_KEY"
_SIGNATURE_BYTES = 16  # 128-bit tag

# The API's public base URL for the request being served (set by the api per request; the notifier, which
# presents webhook payloads outside any request, sets it from PUBLIC_API_URL)
public_base_url: ContextVar[str | None] = ContextVar("public_base_url", default=None)

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


class ThumbnailNotFoundError(NotFoundError):
    """An unknown, altered or expired thumbnail link, or one whose image is gone."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(table: Table) -> bytes:
    """The stack's thumbnail signing key (32 random bytes), created by the first caller; cached."""
    cached = _keys.get(table.name)
    if cached is not None:
        return cached
    from avatarsmith.dal.table import ConditionFailed

    with _keys_lock:
        item = table.get(SIGNING_KEY_PK, SIGNING_KEY_SK, consistent=True)
        if item is None:
            fresh = {"pk": SIGNING_KEY_PK, "sk": SIGNING_KEY_SK, "type": "signing_key"}
            fresh["key"] = secrets.token_hex(32)
            try:
                table.put_new(fresh)
                item = fresh
            except ConditionFailed:  # another container created it first
                item = table.get(SIGNING_KEY_PK, SIGNING_KEY_SK, consistent=True)
        if item is None:
            raise StorageError("the thumbnail signing key could not be read")
        key = bytes.fromhex(str(item["key"]))
        _keys[table.name] = key
        return key


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def make_token(key: bytes, image_key: str, expires_at: int) -> str:
    payload = _b64(json.dumps({"k": image_key, "e": expires_at}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(key, payload)}"


def read_token(key: bytes, token: str, *, now: float | None = None) -> str:
    """The image key a valid, unexpired token names; ThumbnailNotFoundError otherwise."""
    invalid = ThumbnailNotFoundError("this thumbnail link is not valid or has expired")
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _sign(key, payload)):
        raise invalid
    try:
        data: Any = json.loads(_unb64(payload))
        image_key, expires_at = data["k"], data["e"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(image_key, str) or not isinstance(expires_at, int):
        raise invalid
    if (time.time() if now is None else now) >= expires_at:
        raise invalid
    return image_key


def thumbnail_url(services: Services, image_key: str, *, expires_in: int) -> str | None:
    """A signed link to the image's thumbnail, or None outside a request that knows the API's address."""
    base = public_base_url.get()
    if not base:
        return None
    key = signing_key(services.jobs.table)
    token = make_token(key, image_key, int(time.time()) + expires_in)
    return f"{base.rstrip('/')}{THUMBNAIL_PATH}{token}"


def render_thumbnail(services: Services, token: str) -> tuple[bytes, str]:
    """(thumbnail bytes, content type) of the image a token names: rendered now, in the image's format."""
    from avatarsmith.renderer.imaging import DECODE_ERRORS, content_type_for, thumbnail_of

    image_key = read_token(signing_key(services.jobs.table), token)
    fmt = image_key.rsplit(".", 1)[-1].lower()
    if fmt not in ("png", "webp", "jpg", "jpeg") or services.images.head(image_key) is None:
        raise ThumbnailNotFoundError("the image of this thumbnail link is gone")
    try:
        return thumbnail_of(services.images.get(image_key), fmt), content_type_for(fmt)
    except DECODE_ERRORS as exc:
        raise StoredImageUnreadableError("the image of this thumbnail link cannot be read") from exc
