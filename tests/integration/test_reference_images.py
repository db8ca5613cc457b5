"""Reference photos through the real state machine: a photo that passes the API's magic-byte check but
cannot be decoded safely (truncated, a decompression bomb) fails the job with `invalid_reference_image`
and refunds it; a good photo becomes an avatar of the requested size."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import AwsAccount
from tests.integration.helpers import (
    api_call,
    dispatch_queued_messages,
    execution_arn,
    state_names_entered,
    wait_for_execution,
)

pytestmark = pytest.mark.statemachine

ASTRONAUT = (Path(__file__).resolve().parents[1] / "fixtures" / "astronaut.jpg").read_bytes()


def _data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def _truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(ASTRONAUT)).save(buffer, "PNG")
    return buffer.getvalue()[:5000]


def _bomb_png() -> bytes:
    """A real 1x1 PNG whose IHDR (with a valid CRC) claims 60000x60000 pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", 60_000, 60_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _run(aws: AwsAccount, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    _, key = aws.add_tenant()
    status, _, job = api_call("generate_avatar", key, body=body)
    assert status == 202, job
    assert dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"]) == {
        "batchItemFailures": []
    }
    sfn = aws.client("stepfunctions")
    arn = execution_arn(aws.env, job["id"])
    execution = wait_for_execution(sfn, arn)
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    return execution, final, state_names_entered(sfn, arn)


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize(
    ("name", "references"),
    [
        ("truncated png", [_data_url(_truncated_png(), "image/png")]),
        ("decompression bomb", [_data_url(_bomb_png(), "image/png")]),
        (
            "good photo then a truncated one",
            [_data_url(ASTRONAUT, "image/jpeg"), _data_url(_truncated_png(), "image/png")],
        ),
    ],
)
def test_an_undecodable_reference_fails_the_job_with_invalid_reference_image(
    aws: AwsAccount, name: str, references: list[str]
) -> None:
    # Given a reference image that passes the API's checks but cannot be decoded safely
    body = {"prompt": "portrait", "reference_images": references, "num_variations": 2}
    # When the job runs through the state machine
    execution, job, states = _run(aws, body)
    # Then the job failed (not the process) with the error code, naming the reference, and was refunded
    assert execution["status"] == "FAILED"
    assert "MarkFailed" in states
    assert job["status"] == "failed"
    assert job["error"]["code"] == "invalid_reference_image"
    assert f"reference image {len(references) - 1} could not be decoded" in job["error"]["message"]
    assert job["credits"]["charged"] == 0 and job["credits"]["refunded"] == job["credits"]["reserved"]


def test_a_good_photo_becomes_an_avatar_of_the_requested_size(aws: AwsAccount) -> None:
    # Given the astronaut portrait and a 9:16 noir half-body request
    body = {
        "reference_images": [_data_url(ASTRONAUT, "image/jpeg")],
        "style": 10,
        "attributes": {"pose": "half_body"},
        "output": {"width": 288, "height": 512, "format": "jpeg"},
    }
    # When the job runs
    execution, job, _ = _run(aws, body)
    # Then it completed with a 288x512 greyscale JPEG and the renderer version in the provenance
    assert execution["status"] == "SUCCEEDED", job.get("error")
    assert job["provenance"]["renderer_version"] == "studio-3"
    image = Image.open(io.BytesIO(requests.get(job["avatars"][0]["image_url"], timeout=10).content))
    assert (image.format, image.size) == ("JPEG", (288, 512))
    r, _, b = image.convert("RGB").resize((32, 32)).split()
    assert max(abs(x - y) for x, y in zip(r.tobytes(), b.tobytes(), strict=True)) <= 6
