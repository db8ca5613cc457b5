"""Every real backend adapter runs full jobs through the real ASL in moto against its loopback fake
(Bedrock and ComfyUI: their own files): success after several polls, throttling then success, terminal errors,
moderation (whole and partial), and the per-job deadline with cancellation."""

from __future__ import annotations

import io
import json
import time
import types
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import AwsAccount, _reset_caches
from tests.fakes.server import FakeProvider, serve
from tests.fakes.vendors.automatic1111 import Automatic1111VendorFake
from tests.fakes.vendors.bfl import BflVendorFake
from tests.fakes.vendors.fal import FalVendorFake
from tests.fakes.vendors.openai import OpenAIVendorFake
from tests.fakes.vendors.replicate import ReplicateVendorFake
from tests.fakes.vendors.strict import StrictVendorFake
from tests.integration.helpers import (
    api_call,
    dispatch_queued_messages,
    execution_arn,
    state_names_entered,
    wait_for_execution,
)

pytestmark = pytest.mark.statemachine

SECRET_NAME = "avatarsmith/backends"


def configure(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, backends: dict[str, str], key: str = "test-key"
) -> None:
    secret = {name: key for name in ("openai", "replicate", "fal", "bfl")}
    aws.client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=json.dumps(secret))
    monkeypatch.setenv("AVATARSMITH_BACKENDS", ",".join(f"{k}={v}" if v else k for k, v in backends.items()))
    monkeypatch.setenv("AVATARSMITH_BACKEND_SECRET", SECRET_NAME)
    monkeypatch.setenv("AVATARSMITH_POLL_SECONDS", "*=0")
    _reset_caches()


def run_job(aws: AwsAccount, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    _, api_key = aws.add_tenant()
    status, _, job = api_call("generate_avatar", api_key, body=body)
    assert status == 202, job
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    sfn = aws.client("stepfunctions")
    arn = execution_arn(aws.env, job["id"])
    execution = wait_for_execution(sfn, arn)
    _, _, final = api_call("get_job", api_key, path_params={"job_id": job["id"]})
    return execution, final, state_names_entered(sfn, arn)


def image_size(url: str) -> tuple[int, int]:
    return Image.open(io.BytesIO(requests.get(url, timeout=10).content)).size


@pytest.fixture
def expire_after_polls(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the job's deadline pass once the fake has been polled `n` times (no real waiting)."""
    from avatarsmith.logic import workflow

    def arm(fake: FakeProvider, label: str, n: int) -> None:
        real = time.time
        monkeypatch.setattr(
            workflow,
            "time",
            types.SimpleNamespace(time=lambda: real() + (1e6 if fake.count(label) >= n else 0)),
        )

    return arm


# --- asynchronous providers: submit, then the state machine polls -----------------------------------
ASYNC = {
    # backend: (fake class, public model id, poll label, cancel label or None)
    "replicate": (ReplicateVendorFake, "sdxl-replicate", "poll", "cancel"),
    "fal": (FalVendorFake, "flux-schnell", "status", "cancel"),
    "bfl": (BflVendorFake, "flux-kontext", "poll", None),
}


@pytest.mark.parametrize("name", sorted(ASYNC))
def test_async_backend_full_lifecycle(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, no_retry_sleep: None, expire_after_polls: Any, name: str
) -> None:
    fake_cls, model, poll_label, cancel_label = ASYNC[name]
    with serve(fake_cls()) as fake:
        configure(aws, monkeypatch, {name: fake.url})
        blocked = "content_moderated"

        # 1. success after several polls; the third variation's task is moderated (partial result)
        fake.polls_needed, fake.moderate = 3, {2, 4}
        execution, job, states = run_job(
            aws,
            {
                "prompt": "woman with red hair",
                "model": model,
                "num_variations": 3,
                "negative_prompt": "hat",
                "seed": 7,
                "output": {"width": 330, "height": 400, "format": "webp"},
            },
        )
        assert execution["status"] == "SUCCEEDED", job
        assert states.count("PollGeneration") >= 3
        assert fake.count(poll_label) == 3 * 3, "each variation's task was polled until ready"
        assert [(a["status"], a.get("error_code")) for a in job["avatars"]] == [
            ("completed", None),
            ("completed", None),
            ("failed", blocked),
        ]
        per = job["credits"]["reserved"] // 3
        assert job["credits"] == {"reserved": 3 * per, "charged": 2 * per, "refunded": per}
        for avatar in job["avatars"][:2]:
            assert image_size(avatar["image_url"]) == (330, 400)
        prov = job["provenance"]
        assert prov["backend"] == name and "woman with red hair" in prov["final_prompt"]
        assert job["request"]["backend"] == name
        assert any("cropped/resized to 330x400" in a for a in prov["adjustments"])
        assert fake.url not in json.dumps(job), "the job never points at a provider URL"
        submitted = [r.json() for r in fake.requests if fake.route(r) == "submit"]
        inputs = [body.get("input", body) for body in submitted]
        assert [i.get("seed") for i in inputs] == [7, 8, 9]

        # 2. throttled (429 with Retry-After) then 503 at submit: retried by the ASL, then success
        fake.polls_needed = 1
        fake.fail("submit", 429, {"detail": "Request was throttled"}, {"Retry-After": "0"})
        fake.fail("submit", 503, {"detail": "upstream busy"})
        before = fake.count("submit")
        execution, job, states = run_job(aws, {"prompt": "x", "model": model})
        assert execution["status"] == "SUCCEEDED", job
        assert fake.count("submit") - before == 3 and "MarkFailed" not in states

        # 3. refused credentials: terminal, not retried, refunded
        fake.fail("submit", 401, {"detail": "Unauthenticated"})
        before = fake.count("submit")
        execution, job, _ = run_job(aws, {"prompt": "x", "model": model, "num_variations": 2})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "backend_auth_failed"
        assert fake.count("submit") - before == 1
        assert job["credits"]["charged"] == 0 and job["credits"]["refunded"] == job["credits"]["reserved"]

        # 4. the only variation moderated: the job fails with content_moderated
        execution, job, _ = run_job(aws, {"prompt": "x", "model": model})
        assert execution["status"] == "FAILED" and job["error"]["code"] == blocked

        # 5. past the job's deadline: generation_timeout, and the backend job is cancelled where possible
        fake.polls_needed = 10_000
        expire_after_polls(fake, poll_label, fake.count(poll_label) + 2)
        execution, job, states = run_job(aws, {"prompt": "x", "model": model})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "generation_timeout"
        assert states.count("PollGeneration") == 3
        if cancel_label:
            assert fake.count(cancel_label) == 1, "the backend job was cancelled"
        if isinstance(fake, StrictVendorFake):  # nothing the vendor refuses or ignores ever reached it
            assert fake.violations == [] and fake.dropped == [], (fake.violations, fake.dropped)


def test_poll_honours_retry_after(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(ReplicateVendorFake()) as fake:
        configure(aws, monkeypatch, {"replicate": fake.url})
        fake.polls_needed = 2
        fake.fail("poll", 429, {"detail": "throttled"}, {"Retry-After": "1"})
        started = time.monotonic()
        execution, job, states = run_job(aws, {"prompt": "x", "model": "sdxl-replicate"})
        assert execution["status"] == "SUCCEEDED" and job["status"] == "completed"
        assert "MarkFailed" not in states
        assert time.monotonic() - started >= 1.0, "the Wait state slept Retry-After seconds"


# --- synchronous providers: the call happens in StoreImages --------------------------------------
OPENAI_TERMINAL = [
    (429, {"error": {"code": "insufficient_quota", "type": "insufficient_quota"}}, "backend_quota_exhausted"),
    (400, {"error": {"code": "moderation_blocked", "message": "safety system"}}, "content_moderated"),
    (401, {"error": {"message": "Incorrect API key"}}, "backend_auth_failed"),
    (404, {"error": {"code": "model_not_found"}}, "backend_model_not_found"),
]


def test_openai_generations_edits_retries_and_terminal_errors(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, no_retry_sleep: None
) -> None:
    from tests.fakes.server import b64png

    with serve(OpenAIVendorFake()) as fake:
        configure(aws, monkeypatch, {"openai": fake.url})
        # generations: nearest size, negative folded, no seed -> not reproducible; exact crop in S3
        body = {"prompt": "robot", "negative_prompt": "blur", "model": "gpt-image-1", "num_variations": 2}
        execution, job, _ = run_job(aws, body | {"output": {"width": 512, "height": 768}})
        assert execution["status"] == "SUCCEEDED", job
        sent = fake.requests[0].json()
        assert sent["size"] == "1024x1536" and sent["n"] == 2 and sent["model"] == "gpt-image-1"
        assert "Avoid: blur" in sent["prompt"]
        assert job["provenance"]["reproducible"] is False and "seed" not in job["provenance"]
        assert [image_size(a["image_url"]) for a in job["avatars"]] == [(512, 768), (512, 768)]
        # edits when reference images are given
        ref = f"data:image/png;base64,{b64png(64, 64)}"
        execution, job, _ = run_job(
            aws, {"prompt": "as a knight", "model": "gpt-image-1", "reference_images": [ref]}
        )
        assert execution["status"] == "SUCCEEDED", job
        assert fake.calls[-1][0] == "edit"
        # 429 (rate limit) then 502: retried by the ASL, then success
        fake.fail("generate", 429, {"error": {"code": "rate_limit_exceeded"}}, {"Retry-After": "2"})
        fake.fail("generate", 502, {"error": {"message": "bad gateway"}})
        before = fake.count("generate")
        execution, job, states = run_job(aws, {"prompt": "x", "model": "gpt-image-1"})
        assert execution["status"] == "SUCCEEDED", job
        assert fake.count("generate") - before == 3 and "MarkFailed" not in states
        # terminal errors: one call each, a stable code
        for status, error, code in OPENAI_TERMINAL:
            fake.fail("generate", status, error)
            before = fake.count("generate")
            execution, job, _ = run_job(aws, {"prompt": "x", "model": "gpt-image-1"})
            assert execution["status"] == "FAILED" and job["error"]["code"] == code, (status, job)
            assert fake.count("generate") - before == 1, "terminal errors are not retried"


def test_sync_deadline_fails_with_generation_timeout(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.backends import http

    with serve(Automatic1111VendorFake()) as fake:
        configure(aws, monkeypatch, {"automatic1111": fake.url})
        real = time.time
        monkeypatch.setattr(http, "time", types.SimpleNamespace(time=lambda: real() + 1e6))
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "sdxl-local"})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "generation_timeout"
        assert fake.calls == [], "no generation was started past the deadline"


def test_automatic1111_txt2img_img2img_and_errors(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, no_retry_sleep: None
) -> None:
    from tests.fakes.server import b64png

    with serve(Automatic1111VendorFake()) as fake:
        configure(aws, monkeypatch, {"automatic1111": fake.url})
        fake.fail("txt2img", 503, "restarting")
        execution, job, _ = run_job(
            aws,
            {
                "prompt": "x",
                "negative_prompt": "hat",
                "model": "sdxl-local",
                "num_variations": 3,
                "seed": 42,
                "guidance_scale": 5,
                "output": {"width": 300, "height": 300},
            },
        )
        assert execution["status"] == "SUCCEEDED", job
        sent = fake.requests[-1].json()
        assert (sent["seed"], sent["batch_size"], sent["negative_prompt"], sent["cfg_scale"]) == (
            42,
            3,
            "hat",
            5,
        )
        assert (sent["width"], sent["height"]) == (304, 304)
        assert [a["seed"] for a in job["avatars"]] == [42, 43, 44]
        assert job["provenance"]["reproducible"] is True and job["provenance"]["seed"] == 42
        execution, job, _ = run_job(
            aws,
            {
                "prompt": "x",
                "model": "sdxl-local",
                "reference_images": [f"data:image/png;base64,{b64png(64, 64)}"],
            },
        )
        assert execution["status"] == "SUCCEEDED" and fake.calls[-1][0] == "img2img"
        fake.fail("txt2img", 422, {"detail": [{"msg": "invalid sampler"}]})
        execution, job, _ = run_job(aws, {"prompt": "x", "model": "sdxl-local"})
        assert execution["status"] == "FAILED" and job["error"]["code"] == "generation_rejected"


def test_optimised_prompt_is_sent_and_recorded(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.stub import Stubber

    from avatarsmith.logic import prompt_optimizer

    client = aws.session.client("bedrock-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "converse",
        {
            "output": {
                "message": {"role": "assistant", "content": [{"text": "cinematic portrait of a pilot"}]}
            },
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
    )
    stubber.activate()
    monkeypatch.setattr(prompt_optimizer, "make_client", lambda: client)
    monkeypatch.setenv(prompt_optimizer.MODEL_ENV, "amazon.nova-lite-v1:0")
    with serve(OpenAIVendorFake()) as fake:
        configure(aws, monkeypatch, {"openai": fake.url})
        execution, job, _ = run_job(aws, {"prompt": "pilot", "model": "gpt-image-1"})
        assert execution["status"] == "SUCCEEDED", job
        assert fake.requests[0].json()["prompt"] == "cinematic portrait of a pilot"
    assert job["provenance"]["final_prompt"] == "cinematic portrait of a pilot"
    assert "prompt rewritten by amazon.nova-lite-v1:0 (Bedrock Converse)" in job["provenance"]["adjustments"]
