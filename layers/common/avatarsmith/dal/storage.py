"""S3 access for images: tenant-scoped keys, uploads, downloads and presigned GETs."""

from __future__ import annotations

from typing import Any

from avatarsmith.errors import ImageGoneError, StorageError

from .clients import client, sigv4_client


def job_prefix(tenant_id: str, job_id: str) -> str:
    return f"tenants/{tenant_id}/jobs/{job_id}/"


def image_key(tenant_id: str, job_id: str, index: int, extension: str) -> str:
    return f"{job_prefix(tenant_id, job_id)}{index}.{extension}"


def thumbnail_key(tenant_id: str, job_id: str, index: int, extension: str) -> str:
    return f"{job_prefix(tenant_id, job_id)}{index}.thumb.{extension}"


def reference_key(tenant_id: str, job_id: str, index: int) -> str:
    return f"{job_prefix(tenant_id, job_id)}references/{index}"


def upload_key(tenant_id: str, upload_id: str) -> str:
    return f"tenants/{tenant_id}/uploads/{upload_id}"


KEPT_PREFIX = "kept/"  # outside tenants/: the retention rule does not expire saved and published images


def kept_key(tenant_id: str, avatar_id: str, name: str) -> str:
    return f"{KEPT_PREFIX}tenants/{tenant_id}/avatars/{avatar_id}/{name}"


def community_key(entry_id: str, name: str) -> str:
    """A published copy: its path names neither the tenant nor the saved avatar."""
    return f"{KEPT_PREFIX}community/{entry_id}/{name}"


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

    def keys_under(self, prefix: str) -> set[str]:
        """Every key under the prefix (a job's objects: at most a few dozen)."""
        from botocore.exceptions import BotoCoreError, ClientError

        keys: set[str] = set()
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys.update(str(o["Key"]) for o in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not list stored images") from exc
        return keys

    def _head_or_none(self, key: str, failure: str) -> dict[str, Any] | None:
        """The object's HEAD answer, or None when it does not exist; any other failure is a StorageError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(self._s3.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(failure) from exc
        except BotoCoreError as exc:
            raise StorageError(failure) from exc

    def metadata_if_stored(self, key: str) -> dict[str, str] | None:
        """The object's user metadata, or None when it does not exist (one HEAD request)."""
        head = self._head_or_none(key, "could not check a stored image")
        return None if head is None else dict(head.get("Metadata", {}))

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read an image") from exc

    def head(self, key: str) -> dict[str, Any] | None:
        """Size and content type of an object, or None when it does not exist."""
        head = self._head_or_none(key, "could not read an image's metadata")
        if head is None:
            return None
        return {"size": int(head.get("ContentLength", 0)), "content_type": str(head.get("ContentType", ""))}

    def get_prefix_bytes(self, key: str, count: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{count - 1}")
            return bytes(response["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not read an image") from exc

    def copy(self, source: str, target: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.copy_object(
                Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ImageGoneError("the image is no longer stored (its job was erased or expired)") from exc
            raise StorageError("could not copy an image") from exc
        except BotoCoreError as exc:
            raise StorageError("could not copy an image") from exc

    def delete(self, keys: list[str]) -> None:
        """Delete objects (absent ones are fine), up to 1000 per call."""
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            try:
                result = self._s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not delete images") from exc
            if result.get("Errors"):
                raise StorageError("could not delete images")

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A browser/curl upload form whose policy fixes the key and content type and caps the size."""
        return dict(
            sigv4_client("s3").generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=expires_in,
            )
        )

    def presign(self, key: str, *, expires_in: int) -> str:
        """A fresh presigned GET (computed locally: no AWS round trip), SigV4 (S3 buckets made since
        2020 refuse SigV2, boto3's default for a presigned URL)."""
        return str(
            sigv4_client("s3").generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )
