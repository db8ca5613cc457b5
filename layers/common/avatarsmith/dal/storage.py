"""S3 access for images: tenant-scoped keys, uploads, downloads and presigned GETs."""

from __future__ import annotations

from typing import Any

from avatarsmith.errors import StorageError

from .clients import client


def job_prefix(tenant_id: str, job_id: str) -> str:
    return f"tenants/{tenant_id}/jobs/{job_id}/"


def image_key(tenant_id: str, job_id: str, index: int, extension: str) -> str:
    return f"{job_prefix(tenant_id, job_id)}{index}.{extension}"


def thumbnail_key(tenant_id: str, job_id: str, index: int, extension: str) -> str:
    return f"{job_prefix(tenant_id, job_id)}{index}.thumb.{extension}"


def reference_key(tenant_id: str, job_id: str, index: int) -> str:
    return f"{job_prefix(tenant_id, job_id)}references/{index}"


class ImageStore:
    def __init__(self, bucket: str):
        self.bucket = bucket

    @property
    def _s3(self) -> Any:
        return client("s3")

    def put(self, key: str, body: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not store an image") from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read an image") from exc

    def presign(self, key: str, *, expires_in: int) -> str:
        """A fresh presigned GET (computed locally: no AWS round trip)."""
        return str(
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )
