"""Reference-photo uploads: the caller sends the bytes straight to S3 with a presigned POST (up to 15 MB,
more than a Lambda request can carry); a generate request then names the upload by its id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from avatarsmith.dal.storage import upload_key
from avatarsmith.errors import (
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    UploadExpiredError,
    UploadIncompleteError,
    UploadNotFoundError,
)
from avatarsmith.ids import new_upload_id
from avatarsmith.logic.media_types import sniff_media_type
from avatarsmith.logic.services import Services
from avatarsmith.models.domain import ReferenceImage, Upload

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
UPLOAD_FORM_SECONDS = 3600  # the presigned form works this long
UPLOAD_USABLE_SECONDS = 24 * 3600  # a finished upload can be referenced this long after it was created
UPLOAD_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def create_upload(
    services: Services, tenant_id: str, *, content_type: str, size: int, now: datetime | None = None
) -> tuple[Upload, dict[str, object]]:
    """A new upload and its presigned POST form (`url` and `fields`)."""
    if size > MAX_UPLOAD_BYTES:
        raise PayloadTooLargeError("a reference photo is at most 15 MB (15728640 bytes)", param="size")
    moment = now or datetime.now(UTC)
    upload_id = new_upload_id()
    upload = Upload(
        id=upload_id,
        tenant_id=tenant_id,
        key=upload_key(tenant_id, upload_id),
        content_type=content_type,
        max_bytes=MAX_UPLOAD_BYTES,
        created_at=_iso(moment),
        form_expires_at=_iso(moment + timedelta(seconds=UPLOAD_FORM_SECONDS)),
        usable_until=_iso(moment + timedelta(seconds=UPLOAD_USABLE_SECONDS)),
    )
    form = services.images.presigned_post(
        upload.key, content_type=content_type, max_bytes=MAX_UPLOAD_BYTES, expires_in=UPLOAD_FORM_SECONDS
    )
    expires_epoch = int((moment + timedelta(seconds=UPLOAD_USABLE_SECONDS)).timestamp()) + 24 * 3600
    services.uploads.create(upload, expires_epoch=expires_epoch)
    return upload, form


def looks_like_upload_id(value: str) -> bool:
    text = value.strip()
    return text.startswith("upl_") and len(text) == 30 and text[4:].isalnum()


def resolve_upload(
    services: Services, tenant_id: str, upload_id: str, *, param: str, now: datetime | None = None
) -> ReferenceImage:
    """The stored reference an upload id stands for. Unknown and other tenants' ids are 404; an upload
    past its usable time 410; one whose bytes have not arrived 409; over 15 MB 413; not an image 415."""
    upload = services.uploads.get(tenant_id, upload_id.strip())
    if upload is None:
        raise UploadNotFoundError(f"no upload with id {upload_id.strip()}", param=param)
    moment = now or datetime.now(UTC)
    if moment > _parse_iso(upload.usable_until):
        raise UploadExpiredError(
            f"upload {upload.id} expired at {upload.usable_until}; upload the photo again", param=param
        )
    head = services.images.head(upload.key)
    if head is None:
        if moment > _parse_iso(upload.form_expires_at):
            raise UploadExpiredError(
                f"upload {upload.id} was never completed and its form expired; upload the photo again",
                param=param,
            )
        raise UploadIncompleteError(
            f"upload {upload.id} has no file: POST it to upload_url first (a job that used the upload "
            "deletes it when it ends, unless it kept its references)",
            param=param,
        )
    if head["size"] > MAX_UPLOAD_BYTES:
        raise PayloadTooLargeError(f"{param}: upload {upload.id} is larger than 15 MB", param=param)
    media_type = sniff_media_type(services.images.get_prefix_bytes(upload.key, 16))
    if media_type is None:
        raise UnsupportedMediaTypeError(
            f"{param}: upload {upload.id} is not a JPEG, PNG or WebP image", param=param
        )
    return ReferenceImage(kind="s3", location=upload.key, media_type=media_type, size_bytes=head["size"])
