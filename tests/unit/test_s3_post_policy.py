"""The emulator's POST-policy check takes both signature versions S3 takes for a browser upload: SigV4
(the API's own forms) and SigV2 (boto3's default presigned POST)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.s3_post_policy import PolicyViolation, evaluate

SECRET = "local-secret-key"


def _form(signature_version: str | None) -> dict[str, Any]:
    config = Config(signature_version=signature_version) if signature_version else None
    client = boto3.session.Session(
        aws_access_key_id="AKIDLOCAL", aws_secret_access_key=SECRET, region_name="us-east-1"
    ).client("s3", endpoint_url="http://127.0.0.1:9", config=config)
    post = client.generate_presigned_post(
        "bucket", "uploads/k", Conditions=[["content-length-range", 1, 100]], ExpiresIn=300
    )
    return dict(post["fields"])


@pytest.mark.parametrize("version", [None, "s3v4"])
def test_a_signed_form_within_its_policy_passes(version: str | None) -> None:
    fields = _form(version)
    assert ("signature" in fields) == (version is None)  # boto3's default presigned POST is SigV2
    evaluate(fields, "bucket", 10, secret_key=SECRET, now=datetime.now(UTC))


@pytest.mark.parametrize("version", [None, "s3v4"])
def test_a_wrong_secret_or_a_broken_policy_is_refused(version: str | None) -> None:
    fields = _form(version)
    with pytest.raises(PolicyViolation) as wrong_secret:
        evaluate(fields, "bucket", 10, secret_key="another", now=datetime.now(UTC))
    assert (wrong_secret.value.status, wrong_secret.value.code) == (403, "SignatureDoesNotMatch")
    with pytest.raises(PolicyViolation) as too_large:
        evaluate(fields, "bucket", 101, secret_key=SECRET, now=datetime.now(UTC))
    assert (too_large.value.status, too_large.value.code) == (400, "EntityTooLarge")
    with pytest.raises(PolicyViolation) as other_bucket:
        evaluate(fields, "elsewhere", 10, secret_key=SECRET, now=datetime.now(UTC))
    assert other_bucket.value.code == "AccessDenied"
