"""Make the emulator's S3 honour browser-upload (POST) policies as AWS does.

moto 5.2.5 stores whatever a POST form sends: it checks neither the signature nor the policy's expiry or
conditions, so a 16 MB photo would pass a `content-length-range` capped at 15 MB. We wrap moto's POST
handler (`S3Response._bucket_response_post`; tests/unit/test_moto_contract.py fails loudly if an upgrade
moves it) with S3's evaluation of the signed policy, answering with S3's own error documents:
403 AccessDenied for a bad signature, an expired policy, a failed condition or an unlisted field;
400 EntityTooLarge / EntityTooSmall when the file is outside `content-length-range`.
A form without a `policy` field is refused (403 AccessDenied: the bucket grants anonymous writes to
nobody), and so is a SigV2 form (400 InvalidRequest: S3 buckets made since 2020 take SigV4 only), or one
signed with an access key other than the stack's (403 InvalidAccessKeyId). Forms are the only unsigned
requests the emulator's gate lets through (local/emulator_auth.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.s3.responses import S3Response

_original_post = S3Response._bucket_response_post
CREDENTIALS_ENVIRON_KEY = "avatarsmith.emulator_credentials"  # in the WSGI environ: the variables' values
# AWS: also x-ignore-*; a SigV2 form's AWSAccessKeyId and signature are not policy conditions either.
_UNCHECKED_FIELDS = {"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}


class PolicyViolation(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}

    def response(self) -> tuple[int, dict[str, str], str]:
        extra = "".join(f"<{k}>{v}</{k}>" for k, v in self.extra.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message>{extra}"
            "<RequestId>local</RequestId></Error>"
        )
        return self.status, {"Content-Type": "application/xml"}, body


def _denied(message: str) -> PolicyViolation:
    return PolicyViolation(403, "AccessDenied", message)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def check_signature(
    policy_b64: str, credential: str, signature: str, secret_key: str, access_key: str | None = None
) -> None:
    """SigV4 for POST: the signature is HMAC(signing key, the base64 policy document)."""
    parts = credential.split("/")
    if len(parts) != 5:
        raise _denied("Invalid according to Policy: x-amz-credential is malformed")
    key_id, date, region, service, terminal = parts
    if access_key is not None and not hmac.compare_digest(key_id, access_key):
        raise PolicyViolation(
            403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        )
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for piece in (region, service, terminal):
        key = _hmac(key, piece)
    expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise PolicyViolation(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def check_signature_v2(policy_b64: str, signature: str, secret_key: str) -> None:
    """SigV2 for POST (still accepted by S3 where SigV2 is, and boto3's default for a presigned POST
    without `signature_version="s3v4"`): the signature is base64(HMAC-SHA1(secret, base64 policy))."""
    expected = base64.b64encode(hmac.new(secret_key.encode(), policy_b64.encode(), hashlib.sha1).digest())
    if not hmac.compare_digest(expected.decode(), signature.strip()):
        raise PolicyViolation(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def evaluate(
    form: dict[str, str],
    bucket: str,
    file_size: int,
    *,
    secret_key: str,
    now: datetime,
    access_key: str | None = None,
    sigv2: bool = False,
) -> None:
    """Raise PolicyViolation unless the form satisfies its signed policy (SigV2 forms only with `sigv2`;
    the emulator never sets it)."""
    fields = {k.lower(): v for k, v in form.items()}
    policy_b64 = fields.get("policy", "")
    if not policy_b64:
        raise _denied("Access Denied")
    if "x-amz-credential" not in fields and "awsaccesskeyid" in fields:
        if not sigv2:
            raise PolicyViolation(
                400,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. "
                "Please use AWS4-HMAC-SHA256.",
            )
        if access_key is not None and not hmac.compare_digest(fields["awsaccesskeyid"], access_key):
            raise PolicyViolation(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        check_signature_v2(policy_b64, fields.get("signature", ""), secret_key)
    else:
        if fields.get("x-amz-algorithm", "AWS4-HMAC-SHA256") != "AWS4-HMAC-SHA256":
            raise _denied("Invalid according to Policy: x-amz-algorithm must be AWS4-HMAC-SHA256")
        check_signature(
            policy_b64,
            fields.get("x-amz-credential", ""),
            fields.get("x-amz-signature", ""),
            secret_key,
            access_key,
        )
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _denied("Invalid Policy: Invalid JSON.") from exc
    expiration = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if now >= expiration:
        raise _denied("Invalid according to Policy: Policy expired.")
    covered: set[str] = set()
    values = {**fields, "bucket": bucket}
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            for name, wanted in condition.items():
                covered.add(name.lower())
                if values.get(name.lower()) != wanted:
                    raise _denied(
                        f'Invalid according to Policy: Policy Condition failed: ["eq", "${name}", "{wanted}"]'
                    )
            continue
        op, *args = condition
        if str(op).lower() == "content-length-range":
            low, high = int(args[0]), int(args[1])
            if file_size > high:
                raise PolicyViolation(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    {"ProposedSize": str(file_size), "MaxSizeAllowed": str(high)},
                )
            if file_size < low:
                raise PolicyViolation(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    {"ProposedSize": str(file_size), "MinSizeAllowed": str(low)},
                )
            continue
        name = str(args[0]).lstrip("$").lower()
        covered.add(name)
        actual = values.get(name, "")
        if (str(op).lower() == "eq" and actual != args[1]) or (
            str(op).lower() == "starts-with" and not actual.startswith(str(args[1]))
        ):
            raise _denied(f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")
    extra = sorted(
        name
        for name in fields
        if name not in covered and name not in _UNCHECKED_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {extra[0]}")


def _post(self: S3Response, request: Any, bucket_name: str) -> Any:
    """Every POST to a bucket other than DeleteObjects (`?delete`, signed) is a form upload: it passes
    only with a signed policy it satisfies."""
    query = parse_qs(urlsplit(self._get_path(request)).query, keep_blank_values=True)
    if "delete" in query:  # the request's own query (form fields are merged into moto's querystring)
        return _original_post(self, request, bucket_name)
    form = {k: str(v) for k, v in (getattr(self, "form_data", None) or {}).items()}
    # the emulator's credentials, as its gate passes them on (local/emulator_auth.py), else this process's
    credentials = getattr(request, "environ", {}).get(CREDENTIALS_ENVIRON_KEY) or os.environ
    body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.body or "").encode()
    try:
        evaluate(
            form,
            bucket_name,
            len(body),
            secret_key=str(credentials.get("AWS_SECRET_ACCESS_KEY", "")),
            access_key=str(credentials.get("AWS_ACCESS_KEY_ID", "")),
            now=datetime.now(UTC),
        )
    except PolicyViolation as violation:
        return violation.response()
    return _original_post(self, request, bucket_name)


def install() -> None:
    S3Response._bucket_response_post = _post  # type: ignore[method-assign]


def uninstall() -> None:
    S3Response._bucket_response_post = _original_post  # type: ignore[method-assign]
