"""Bedrock (Nova Canvas, Titan Image v2, Stability) through the real ASL in moto, with botocore's Stubber
on the bedrock-runtime client (moto's bedrock-runtime invoke_model answers an empty body, so it cannot
stand in for the model)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.conftest import AwsAccount
from tests.fakes.server import b64png
from tests.integration.test_backend_adapters import configure, image_size, run_job

pytestmark = pytest.mark.statemachine


class Recorder:
    """The stubbed client, recording each invoke_model's decoded body."""

    def __init__(self, client: Any):
        self.client = client
        self.bodies: list[dict[str, Any]] = []
        self.models: list[str] = []

    def invoke_model(self, **kwargs: Any) -> Any:
        self.bodies.append(json.loads(kwargs["body"]))
        self.models.append(kwargs["modelId"])
        return self.client.invoke_model(**kwargs)


def answer(stubber: Stubber, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    stubber.add_response(
        "invoke_model",
        {"body": StreamingBody(io.BytesIO(data), len(data)), "contentType": "application/json"},
    )


def error(stubber: Stubber, code: str, status: int, message: str = "error") -> None:
    stubber.add_client_error(
        "invoke_model", service_error_code=code, service_message=message, http_status_code=status
    )


@pytest.fixture
def bedrock(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> tuple[Stubber, Recorder]:
    from avatarsmith.backends import bedrock as adapter

    client = aws.session.client("bedrock-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.activate()
    recorder = Recorder(client)
    monkeypatch.setattr(adapter, "make_client", lambda region: recorder)
    configure(aws, monkeypatch, {"bedrock": ""})
    return stubber, recorder


def test_nova_and_titan_success_partial_moderation_and_retries(
    aws: AwsAccount, bedrock: tuple[Stubber, Recorder], no_retry_sleep: None
) -> None:
    stubber, recorder = bedrock
    # Nova: both variations in one call; one image blocked (a 200 with a partial result)
    answer(
        stubber,
        {
            "images": [b64png(512, 512)],
            "error": "Some of the generated images have been blocked by our content filters.",
        },
    )
    execution, job, _ = run_job(
        aws,
        {
            "prompt": "chef",
            "negative_prompt": "hat",
            "model": "nova-canvas",
            "num_variations": 2,
            "seed": 5,
            "guidance_scale": 7,
            "output": {"width": 500, "height": 500},
        },
    )
    assert execution["status"] == "SUCCEEDED", job
    body = recorder.bodies[-1]
    assert recorder.models[-1] == "amazon.nova-canvas-v1:0" and body["taskType"] == "TEXT_IMAGE"
    assert body["textToImageParams"]["negativeText"] == "hat"
    config = body["imageGenerationConfig"]
    assert (
        config["width"],
        config["height"],
        config["seed"],
        config["numberOfImages"],
        config["cfgScale"],
    ) == (496, 496, 5, 2, 7)
    assert [(a["status"], a.get("error_code")) for a in job["avatars"]] == [
        ("completed", None),
        ("failed", "content_moderated"),
    ]
    assert image_size(job["avatars"][0]["image_url"]) == (500, 500)
    assert job["credits"]["charged"] == 3 and job["provenance"]["reproducible"] is True

    # Titan with a reference image: IMAGE_VARIATION; throttled then 503 then success (ASL retries)
    error(stubber, "ThrottlingException", 429)
    error(stubber, "ServiceUnavailableException", 503)
    answer(stubber, {"images": [b64png(64, 64)]})
    ref = f"data:image/png;base64,{b64png(64, 64)}"
    calls_before = len(recorder.bodies)
    execution, job, _ = run_job(
        aws, {"prompt": "as a knight", "model": "titan-image-v2", "reference_images": [ref]}
    )
    assert execution["status"] == "SUCCEEDED", job
    assert len(recorder.bodies) - calls_before == 3
    assert recorder.bodies[-1]["taskType"] == "IMAGE_VARIATION"
    assert len(recorder.bodies[-1]["imageVariationParams"]["images"]) == 1

    # every image blocked -> content_moderated; terminal errors map to stable codes without retries
    answer(
        stubber,
        {"images": [], "error": "All of the generated images have been blocked by our content filters."},
    )
    _, job, _ = run_job(aws, {"prompt": "x", "model": "nova-canvas"})
    assert job["error"]["code"] == "content_moderated"
    for code, status, message, expected in [
        ("AccessDeniedException", 403, "no access", "backend_auth_failed"),
        ("ServiceQuotaExceededException", 400, "quota", "backend_quota_exhausted"),
        (
            "ValidationException",
            400,
            "This request has been blocked by our content filters.",
            "content_moderated",
        ),
        ("ResourceNotFoundException", 404, "no model", "backend_model_not_found"),
    ]:
        error(stubber, code, status, message)
        calls_before = len(recorder.bodies)
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "nova-canvas"})
        assert execution["status"] == "FAILED" and job["error"]["code"] == expected, code
        assert len(recorder.bodies) - calls_before == 1, "terminal errors are not retried"
    stubber.assert_no_pending_responses()


def test_stability_one_call_per_variation_with_its_aspect_ratio(
    aws: AwsAccount, bedrock: tuple[Stubber, Recorder]
) -> None:
    stubber, recorder = bedrock
    answer(stubber, {"seeds": [10], "finish_reasons": [None], "images": [b64png(100, 80)]})
    answer(stubber, {"seeds": [11], "finish_reasons": ["Filter reason: output image"], "images": []})
    answer(stubber, {"seeds": [12], "finish_reasons": [None], "images": [b64png(100, 80)]})
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
    assert recorder.models == ["stability.sd3-5-large-v1:0"] * 3
    assert [b["seed"] for b in recorder.bodies] == [10, 11, 12]
    assert {b["aspect_ratio"] for b in recorder.bodies} == {"5:4"}, (
        "no 4:3 in Stability's set: 5:4, then crop"
    )
    assert [a["status"] for a in job["avatars"]] == ["completed", "failed", "completed"]
    assert job["avatars"][1]["error_code"] == "content_moderated"
    assert image_size(job["avatars"][0]["image_url"]) == (400, 300)
    assert any("5:4" in a or "cropped/resized to 400x300" in a for a in job["provenance"]["adjustments"])
    assert job["request"]["backend"] == "bedrock"
