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

    def put(
        self, key: str, body: bytes, content_type: str, *, metadata: dict[str, str] | None = None
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        extra = {"Metadata": metadata} if metadata else {}
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not store an image") from exc

    def exists(self, key: str) -> bool:
        """Whether the object is stored (one HEAD request)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError("could not check a stored image") from exc
        except BotoCoreError as exc:
            raise StorageError("could not check a stored image") from exc
        return True

    def metadata(self, key: str) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(self._s3.head_object(Bucket=self.bucket, Key=key).get("Metadata", {}))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read an image's metadata") from exc

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
