"""Lazily created, cached boto3 clients (boto3 is imported on first use, not at module import)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


@cache
def sigv4_client(service: str) -> Any:
    """A SigV4-signing client (S3 browser-upload forms: the only POST signature newer regions accept)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(service, config=Config(signature_version="s3v4"))  # type: ignore[call-overload]


def reset_clients() -> None:
    """Drop cached clients (tests switch between mocked and real endpoints)."""
    client.cache_clear()
    sigv4_client.cache_clear()
