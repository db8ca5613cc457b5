"""The SDK without a server: webhook verification (checked against an independent Standard Webhooks
signer and the API's own), the retry schedule, the error mapping and reference-image handling."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import avatarsmith_client as sdk
import pytest
from avatarsmith_client import _core
from avatarsmith_client.errors import error_from_response
from standardwebhooks import Webhook

from avatarsmith.logic import signing

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "astronaut.jpg"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = json.dumps({"type": "avatar.generation.completed", "data": {"job_id": "job_1"}}).encode()


def _headers(secret: str = SECRET, body: bytes = BODY, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return signing.webhook_headers([secret], "msg_1", stamp, body)


def test_verify_webhook_accepts_the_apis_signature_and_an_independent_one() -> None:
    assert sdk.verify_webhook(SECRET, BODY, _headers())["data"]["job_id"] == "job_1"
    stamp = int(time.time())
    independent = Webhook(SECRET).sign(
        "msg_2", __import__("datetime").datetime.fromtimestamp(stamp), BODY.decode()
    )
    headers = {"Webhook-Id": "msg_2", "Webhook-Timestamp": str(stamp), "Webhook-Signature": independent}
    assert sdk.verify_webhook(SECRET, BODY, headers)["type"] == "avatar.generation.completed"


OTHER_SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()


@pytest.mark.parametrize(
    ("body", "secret", "age_seconds", "reason"),
    [
        (BODY + b" ", SECRET, 0, "no webhook signature"),  # re-serialised or tampered body
        (BODY, OTHER_SECRET, 0, "no webhook signature"),  # signed with another secret
        (BODY, SECRET, 3600, "tolerance"),  # an old delivery replayed
        (BODY, SECRET, -3600, "tolerance"),  # from the future
    ],
)
def test_verify_webhook_refuses(body: bytes, secret: str, age_seconds: int, reason: str) -> None:
    headers = _headers(secret=secret, at=int(time.time()) - age_seconds)  # signed now, over BODY
    with pytest.raises(sdk.WebhookVerificationError, match=reason):
        sdk.verify_webhook(SECRET, body, headers)


def test_verify_webhook_refuses_missing_headers() -> None:
    with pytest.raises(sdk.WebhookVerificationError, match="missing"):
        sdk.verify_webhook(SECRET, BODY, {"webhook-id": "msg_1"})


def test_verify_webhook_takes_old_and_new_secret_during_a_rotation() -> None:
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    assert sdk.verify_webhook([new, SECRET], BODY, _headers(SECRET))


def test_retry_delays_back_off_with_jitter_honour_retry_after_and_stop_at_the_deadline() -> None:
    settings = _core.Settings.resolve("http://127.0.0.1:1", "k", 30, 4)
    attempts = _core.Attempts.start(settings, 30)
    delays = [attempts.next_delay(None) for _ in range(4)]
    assert all(d is not None for d in delays)
    for n, delay in enumerate(delays):
        assert settings.backoff_base * 2**n / 2 <= delay <= settings.backoff_base * 2**n  # type: ignore[operator]
    assert attempts.next_delay(None) is None  # max_retries spent
    patient = _core.Attempts.start(settings, 30)
    assert patient.next_delay(7.0) == 7.0  # Retry-After wins over a shorter backoff
    assert _core.Attempts.start(settings, 2).next_delay(5.0) is None  # it would outlive the deadline


def test_errors_map_by_code_then_status() -> None:
    body = {"error": {"code": "insufficient_credits", "message": "need 2", "request_id": "r1"}}
    error = error_from_response(402, body)
    assert (
        isinstance(error, sdk.InsufficientCredits) and error.request_id == "r1" and error.message == "need 2"
    )
    assert isinstance(
        error_from_response(409, {"error": {"code": "idempotency_key_mismatch"}}), sdk.IdempotencyKeyMismatch
    )
    assert isinstance(error_from_response(404, None), sdk.NotFound)
    assert isinstance(error_from_response(502, {"message": "Internal Server Error"}), sdk.ServerError)
    assert isinstance(error_from_response(418, None), sdk.APIError)


def test_references_pass_urls_through_and_read_local_images() -> None:
    for value in ("https://example.test/a.png", "data:image/png;base64,AAAA", "upl_123"):
        assert _core.classify_reference(value) == value
    local = _core.classify_reference(FIXTURE)
    assert isinstance(local, _core.LocalImage) and local.media_type == "image/jpeg"
    assert local.data_url().startswith("data:image/jpeg;base64,/9j/")
    with pytest.raises(sdk.InvalidRequest, match="not a URL nor a readable file"):
        _core.classify_reference("no/such/file.png")


def test_an_s3_post_upload_is_a_form_with_the_policy_fields() -> None:
    image = _core.LocalImage(b"\x89PNG\r\n\x1a\n....", "image/png")
    form = _core.upload_request(
        {"upload_url": "https://bucket.example/", "method": "POST", "fields": {"key": "k", "policy": "p"}},
        image,
    )
    assert form["method"] == "POST" and form["data"] == {"key": "k", "policy": "p"}
    assert form["files"]["file"][1] == image.data
    put = _core.upload_request({"upload_url": "https://bucket.example/k", "method": "PUT"}, image)
    assert put["content"] == image.data and put["headers"]["Content-Type"] == "image/png"
