"""The emulator's POST-policy check takes the forms S3 takes for a browser upload: SigV4 (the API's own
forms) signed with the stack's access key. A SigV2 form (boto3's default presigned POST) is refused as
S3 buckets made since 2020 refuse it (the check still knows SigV2 when asked to, `sigv2=True`), and so is
a form without a policy."""

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
    evaluate(fields, "bucket", 10, secret_key=SECRET, now=datetime.now(UTC), sigv2=version is None)
    if version is None:
        with pytest.raises(PolicyViolation) as sigv2:
            evaluate(fields, "bucket", 10, secret_key=SECRET, now=datetime.now(UTC))
        assert (sigv2.value.status, sigv2.value.code) == (400, "InvalidRequest")
    else:
        evaluate(fields, "bucket", 10, secret_key=SECRET, access_key="AKIDLOCAL", now=datetime.now(UTC))


def test_a_form_without_a_policy_or_from_another_key_is_refused() -> None:
    fields = _form("s3v4")
    without = {k: v for k, v in fields.items() if k != "policy"}
    with pytest.raises(PolicyViolation) as missing:
        evaluate(without, "bucket", 10, secret_key=SECRET, now=datetime.now(UTC))
    assert (missing.value.status, missing.value.code) == (403, "AccessDenied")
    with pytest.raises(PolicyViolation) as foreign:
        evaluate(fields, "bucket", 10, secret_key=SECRET, access_key="AKIDOTHER", now=datetime.now(UTC))
    assert (foreign.value.status, foreign.value.code) == (403, "InvalidAccessKeyId")


@pytest.mark.parametrize("version", [None, "s3v4"])
def test_a_wrong_secret_or_a_broken_policy_is_refused(version: str | None) -> None:
    fields = _form(version)
    legacy = version is None
    with pytest.raises(PolicyViolation) as wrong_secret:
        evaluate(fields, "bucket", 10, secret_key="another", now=datetime.now(UTC), sigv2=legacy)
    assert (wrong_secret.value.status, wrong_secret.value.code) == (403, "SignatureDoesNotMatch")
    with pytest.raises(PolicyViolation) as too_large:
        evaluate(fields, "bucket", 101, secret_key=SECRET, now=datetime.now(UTC), sigv2=legacy)
    assert (too_large.value.status, too_large.value.code) == (400, "EntityTooLarge")
    with pytest.raises(PolicyViolation) as other_bucket:
        evaluate(fields, "elsewhere", 10, secret_key=SECRET, now=datetime.now(UTC), sigv2=legacy)
    assert other_bucket.value.code == "AccessDenied"
