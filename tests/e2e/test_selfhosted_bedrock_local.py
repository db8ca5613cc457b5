"""`make run` with Bedrock (through AWS_ENDPOINT_URL_BEDROCK_RUNTIME), ComfyUI and AUTOMATIC1111 all on
strict loopback fakes: every model GET /v1/models lists on them is driven through the public API with a 3:4
ratio, 2 variations, a seed, a negative prompt and a 3000x4000 reference photo where the model takes one;
each completes with 2 images of the requested shape and the fakes saw no contract violation."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from local.stack import free_port
from tests.e2e.test_crash_recovery import LocalProcess
from tests.fakes.server import serve
from tests.fakes.vendors.automatic1111 import Automatic1111VendorFake
from tests.fakes.vendors.bedrock import BedrockVendorFake
from tests.fakes.vendors.comfyui import ComfyUIVendorFake
from tests.fakes.vendors.photos import large_photo

pytestmark = pytest.mark.e2e


def _wait(stack: LocalProcess, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = stack.call("GET", f"/v1/jobs/{job_id}", params={"wait_for_completion": "true"}).json()
        if job["status"] in ("completed", "failed", "canceled") or time.monotonic() > deadline:
            return dict(job)


def _drain(stack: LocalProcess) -> None:
    assert stack.proc is not None and stack.proc.stdout is not None
    for line in stack.proc.stdout:
        stack.output.append(line)


def _upload(stack: LocalProcess, data: bytes) -> str:
    """A reference photo over 4 MB goes through POST /v1/uploads (a presigned form), as users send it."""
    upload = stack.call("POST", "/v1/uploads", json={"content_type": "image/jpeg", "size": len(data)}).json()
    posted = requests.post(
        upload["upload_url"], data=upload["fields"], files={"file": ("p.jpg", data)}, timeout=60
    )
    assert posted.status_code == 204, posted.text
    return str(upload["id"])


def test_make_run_drives_bedrock_comfyui_and_automatic1111_models(tmp_path: Path) -> None:
    bedrock, comfy, a1111 = (
        BedrockVendorFake(access_key_id=None),
        ComfyUIVendorFake(),
        Automatic1111VendorFake(),
    )
    with serve(bedrock), serve(comfy), serve(a1111):
        stack = LocalProcess(tmp_path / "state", tmp_path / "pointer.json", free_port())
        stack.env.update(
            {
                "AVATARSMITH_BACKENDS": f"bedrock=us-east-1,comfyui={comfy.url},automatic1111={a1111.url}",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url,
                "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1",
                "AVATARSMITH_POLL_SECONDS": "*=1",
            }
        )
        try:
            stack.start()
            threading.Thread(target=_drain, args=(stack,), daemon=True).start()
            models = {m["id"]: m for m in stack.call("GET", "/v1/models").json()["data"]}
            served = {
                name: m
                for name, m in models.items()
                if m.get("served_by") in ("bedrock", "comfyui", "automatic1111")
            }
            assert {"nova-canvas", "titan-image-v2", "reality4", "sdxl-local", "comfyui-workflow"} <= set(
                served
            )
            jobs = {}
            for name, model in served.items():
                body: dict[str, Any] = {
                    "prompt": "smiling woman with red hair",
                    "model": name,
                    "aspect_ratio": "3:4",
                    "num_variations": 2,
                    "seed": 11,
                    "negative_prompt": "hat",
                }
                if "reference_images" in model["capabilities"]:
                    body["reference_images"] = [_upload(stack, large_photo())]
                submitted = stack.call("POST", "/v1/avatars/generate", json=body)
                assert submitted.status_code == 202, (name, submitted.text)
                jobs[name] = submitted.json()["id"]
            for name, job_id in jobs.items():
                job = _wait(stack, job_id)
                assert job["status"] == "completed", (name, job)
                assert job["provenance"]["backend"] == served[name]["served_by"], name
                assert [a["status"] for a in job["avatars"]] == ["completed", "completed"], (name, job)
                for avatar in job["avatars"]:
                    image = Image.open(io.BytesIO(requests.get(avatar["image_url"], timeout=30).content))
                    assert image.size == (768, 1024), name
        finally:
            stack.stop()
    assert bedrock.violations == [] and comfy.violations == [] and a1111.violations == []
    assert comfy.dropped == [] and a1111.dropped == []
    regions = {(c["model"], c["region"]) for c in bedrock.invocations}
    assert ("stability.sd3-5-large-v1:0", "us-west-2") in regions
    assert ("amazon.nova-canvas-v1:0", "us-east-1") in regions
    tasks = {c["body"].get("taskType") for c in bedrock.invocations}
    assert "IMAGE_VARIATION" in tasks, "the reference photo reached Nova/Titan's images field"
