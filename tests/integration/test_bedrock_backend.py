"""Bedrock jobs through the real ASL in moto, against the strict Bedrock Runtime fake on loopback (boto3
reaches it through AWS_ENDPOINT_URL_BEDROCK_RUNTIME, SigV4-signed): the request shape the model accepts,
a 3000x4000 reference photo, partial moderation, the state machine's retries of Bedrock's transient errors,
and terminal errors that are not retried (a wrong key -> backend_auth_failed, refunded)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest

from tests.conftest import AwsAccount
from tests.fakes.vendors.bedrock import BedrockVendorFake, bedrock_fake
from tests.fakes.vendors.photos import large_photo
from tests.integration.test_backend_adapters import configure, image_size, run_job

pytestmark = pytest.mark.statemachine


@pytest.fixture
def fake(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Any:
    with bedrock_fake(monkeypatch) as fake:
        configure(aws, monkeypatch, {"bedrock": ""})
        yield fake


def test_nova_partial_moderation_then_titan_reference_with_retries(
    aws: AwsAccount, fake: BedrockVendorFake, no_retry_sleep: None
) -> None:
    fake.block("partial")
    execution, job, _ = run_job(
        aws,
        {
            "prompt": "chef",
            "negative_prompt": "hat",
            "model": "nova-canvas",
            "num_variations": 2,
            "seed": 5,
            "guidance_scale": 7,
            "aspect_ratio": "3:4",
        },
    )
    assert execution["status"] == "SUCCEEDED", job
    call = fake.invocations[-1]
    assert (call["model"], call["region"]) == ("amazon.nova-canvas-v1:0", "us-east-1")
    config = call["body"]["imageGenerationConfig"]
    assert (config["width"], config["height"], config["seed"], config["numberOfImages"]) == (768, 1024, 5, 2)
    assert [(a["status"], a.get("error_code")) for a in job["avatars"]] == [
        ("completed", None),
        ("failed", "content_moderated"),
    ]
    assert image_size(job["avatars"][0]["image_url"]) == (768, 1024)
    assert job["credits"]["charged"] == 3 and job["credits"]["refunded"] == 3

    # Titan with a 3000x4000 phone photo: IMAGE_VARIATION within Titan's limits; throttled, then 503, then ok
    fake.fail_aws("ThrottlingException", "Too many requests, please wait before trying again.")
    fake.fail_aws("ServiceUnavailableException", "Bedrock is unable to process your request.")
    photo = base64.b64encode(large_photo()).decode()
    before = fake.count("invoke")
    execution, job, states = run_job(
        aws,
        {
            "prompt": "as a knight",
            "model": "titan-image-v2",
            "reference_images": [f"data:image/jpeg;base64,{photo}"],
        },
    )
    assert execution["status"] == "SUCCEEDED", job
    assert fake.count("invoke") - before == 3 and "MarkFailed" not in states
    body = fake.invocations[-1]["body"]
    assert body["taskType"] == "IMAGE_VARIATION" and len(body["imageVariationParams"]["images"]) == 1
    from PIL import Image

    sent = Image.open(io.BytesIO(base64.b64decode(body["imageVariationParams"]["images"][0])))
    assert max(sent.size) <= 1408
    assert any("reference images scaled" in a for a in job["provenance"]["adjustments"])
    assert fake.violations == []


def test_terminal_errors_are_not_retried(
    aws: AwsAccount, fake: BedrockVendorFake, no_retry_sleep: None
) -> None:
    fake.block("all")
    _, job, _ = run_job(aws, {"prompt": "x", "model": "nova-canvas"})
    assert job["error"]["code"] == "content_moderated"
    for code, expected in [
        ("AccessDeniedException", "backend_auth_failed"),
        ("ServiceQuotaExceededException", "backend_quota_exhausted"),
        ("ResourceNotFoundException", "backend_model_not_found"),
    ]:
        fake.fail_aws(code, "scripted")
        before = fake.count("invoke")
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "nova-canvas", "num_variations": 2})
        assert execution["status"] == "FAILED" and job["error"]["code"] == expected, code
        assert fake.count("invoke") - before == 1, "terminal errors are not retried"
        assert job["credits"]["charged"] == 0 and job["credits"]["refunded"] == job["credits"]["reserved"]
    fake.access_key_id = "AKIAANOTHERKEYENTIRELY"  # the deployment's key is no longer recognised
    before = fake.count("invoke")
    execution, job, _ = run_job(aws, {"prompt": "x", "model": "reality4"})
    assert execution["status"] == "FAILED" and job["error"]["code"] == "backend_auth_failed"
    assert "bedrock" in job["error"]["message"]
    assert fake.count("invoke") - before == 1
    assert fake.violations == []


def test_stability_one_call_per_variation_in_its_region(aws: AwsAccount, fake: BedrockVendorFake) -> None:
    fake.block("filter")
    execution, job, _ = run_job(
        aws,
        {
            "prompt": "x",
            "model": "reality4",
            "num_variations": 3,
            "seed": 10,
            "output": {"width": 400, "height": 300},
        },
    )
    assert execution["status"] == "SUCCEEDED", job
    assert [c["region"] for c in fake.invocations] == ["us-west-2"] * 3
    assert [c["body"]["seed"] for c in fake.invocations] == [10, 11, 12]
    assert {c["body"]["aspect_ratio"] for c in fake.invocations} == {"5:4"}, "no 4:3: 5:4, then crop"
    assert [a["status"] for a in job["avatars"]] == ["failed", "completed", "completed"]
    assert job["avatars"][0]["error_code"] == "content_moderated"
    assert image_size(job["avatars"][1]["image_url"]) == (400, 300)
    assert any("cropped/resized to 400x300" in a for a in job["provenance"]["adjustments"])
    assert fake.violations == []
