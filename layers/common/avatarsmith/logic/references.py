"""Reference images: decode what the caller sent (or resolve an upload id), check type and size, store it
under the tenant."""

from __future__ import annotations

import base64
import binascii
import re

from avatarsmith.errors import (
    InvalidReferenceImageError,
    PayloadTooLargeError,
    RequestValidationError,
    UnsupportedMediaTypeError,
)
from avatarsmith.logic.media_types import sniff_media_type
from avatarsmith.logic.services import Services
from avatarsmith.logic.uploads import looks_like_upload_id, resolve_upload
from avatarsmith.models.domain import Job, ReferenceImage
from avatarsmith.urlguard import UnsafeUrlError, check_url_syntax, fetch_bytes

MAX_REFERENCE_BYTES = 15 * 1024 * 1024
_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,", re.IGNORECASE
)
_BASE64 = re.compile(r"^[A-Za-z0-9+/_\-\s]+=*\s*$")


def _decode_base64(text: str, param: str) -> bytes:
    # Reject before decoding when the encoded text alone proves the image is too large.
    if len(text) * 3 // 4 > MAX_REFERENCE_BYTES + 3:
        raise PayloadTooLargeError(f"{param} is larger than 15 MB", param=param)
    compact = re.sub(r"\s+", "", text)
    if not compact or not _BASE64.match(compact):
        raise _malformed(param)
    try:
        altchars = b"-_" if ("-" in compact or "_" in compact) else None
        return base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed(param) from exc


def _malformed(param: str) -> RequestValidationError:
    message = f"{param} is not valid base64 image data"
    return RequestValidationError(
        message, param=param, details=[{"loc": param, "message": message, "type": "base64_invalid"}]
    )


def decode_reference(value: str, *, index: int, allow_loopback: bool) -> tuple[bytes | None, str | None, str]:
    """Returns (bytes, media_type, url): bytes for inline images, url for links fetched later."""
    param = f"reference_images[{index}]"
    stripped = value.strip()
    if stripped.lower().startswith(("https://", "http://")):
        return None, None, check_url_syntax(stripped, allow_loopback=allow_loopback, param=param)
    match = _DATA_URL.match(stripped)
    if match:
        if not match.group("b64"):
            raise _malformed(param)
        declared = (match.group("mime") or "").lower()
        data = _decode_base64(stripped[match.end() :], param)
    elif stripped.lower().startswith("data:"):
        raise _malformed(param)
    else:
        declared = ""
        data = _decode_base64(stripped, param)
    if len(data) > MAX_REFERENCE_BYTES:
        raise PayloadTooLargeError(f"{param} is larger than 15 MB", param=param)
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsupportedMediaTypeError(f"{param} must be a JPEG, PNG or WebP image", param=param)
    if declared and declared not in (media_type, "image/jpg") and declared.startswith("image/"):
        raise UnsupportedMediaTypeError(
            f"{param} is declared {declared} but contains {media_type}", param=param
        )
    return data, media_type, ""


def store_references(
    services: Services, *, tenant_id: str, job_id: str, values: list[str]
) -> list[ReferenceImage]:
    """Validate every reference first (nothing is stored if one is bad), then store the inline ones."""
    from avatarsmith.dal.storage import reference_key

    uploaded = {
        i: resolve_upload(services, tenant_id, v, param=f"reference_images[{i}]")
        for i, v in enumerate(values)
        if looks_like_upload_id(v)
    }
    decoded = [
        (None, None, "")
        if i in uploaded
        else decode_reference(v, index=i, allow_loopback=services.allow_loopback_urls)
        for i, v in enumerate(values)
    ]
    references: list[ReferenceImage] = []
    for index, (data, media_type, url) in enumerate(decoded):
        if index in uploaded:
            references.append(uploaded[index])
            continue
        if data is None:
            references.append(ReferenceImage(kind="url", location=url))
            continue
        key = reference_key(tenant_id, job_id, index)
        services.images.put(key, data, media_type or "application/octet-stream")
        references.append(
            ReferenceImage(kind="s3", location=key, media_type=media_type, size_bytes=len(data))
        )
    return references


def load_references(services: Services, job: Job) -> list[bytes]:
    """A job's reference photos as bytes for a workflow step: stored ones from S3, URLs via the SSRF guard."""
    references: list[bytes] = []
    for index, ref in enumerate(job.spec.reference_images):
        if ref.kind == "s3":
            references.append(services.images.get(ref.location))
            continue
        try:
            data = fetch_bytes(
                ref.location,
                allow_loopback=services.allow_loopback_urls,
                param=f"reference_images[{index}]",
                max_bytes=MAX_REFERENCE_BYTES,
            )
        except UnsafeUrlError as exc:
            raise InvalidReferenceImageError(exc.message) from exc
        except OSError as exc:  # requests' ConnectionError/Timeout are OSErrors
            raise InvalidReferenceImageError(f"reference_images[{index}] could not be downloaded") from exc
        if sniff_media_type(data) is None:
            raise InvalidReferenceImageError(f"reference_images[{index}] is not a JPEG, PNG or WebP image")
        references.append(data)
    return references
