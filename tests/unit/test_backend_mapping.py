"""Backend configuration, capability mapping, provider-URL checks and Retry-After, without the state
machine (the adapters' full jobs run in tests/integration/test_backend_adapters.py)."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import pytest

from avatarsmith import catalog
from avatarsmith.backends import mapping
from avatarsmith.backends.base import BackendJob
from avatarsmith.backends.settings import parse_backends
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec, OutputSpec
from tests.fakes.server import Reply, Request, json_reply, serve
from tests.fakes.vendors.bfl import BflVendorFake
from tests.fakes.vendors.replicate import ReplicateVendorFake

ADAPTERS = {
    "openai": ("openai", "OpenAIBackend"),
    "replicate": ("replicate", "ReplicateBackend"),
    "fal": ("fal", "FalBackend"),
    "bfl": ("bfl", "BflBackend"),
    "automatic1111": ("automatic1111", "Automatic1111Backend"),
    "comfyui": ("comfyui", "ComfyUIBackend"),
    "bedrock": ("bedrock", "BedrockBackend"),
}


def _spec(model: str, backend: str, backend_model: str, **kw: Any) -> GenerationSpec:
    return GenerationSpec(
        prompt="x",
        model=model,
        backend=backend,
        backend_model=backend_model,
        seed=1,
        output=OutputSpec(width=kw.pop("width", 512), height=kw.pop("height", 512)),
        **kw,
    )


def test_parse_backends() -> None:
    parsed = parse_backends(" bedrock=eu-west-1, openai ,comfyui=http://10.0.0.5:8188/ ")
    assert parsed["bedrock"].value == "eu-west-1"
    assert parsed["openai"].value == "https://api.openai.com"
    assert parsed["comfyui"].value == "http://10.0.0.5:8188"
    with pytest.raises(ValueError, match="unknown backend"):
        parse_backends("midjourney")
    with pytest.raises(ValueError, match="needs a base URL"):
        parse_backends("automatic1111")


def test_every_catalog_route_claims_only_what_its_adapter_supports() -> None:
    for model in catalog.load_catalog().models:
        for route in model["routes"]:
            if route["backend"] not in ADAPTERS:
                continue
            module, cls = ADAPTERS[route["backend"]]
            adapter = getattr(importlib.import_module(f"avatarsmith.backends.{module}"), cls)
            extra = set(route["capabilities"]) - adapter.capabilities
            assert not extra, f"{model['id']} on {route['backend']} claims {extra}"


def test_size_and_ratio_mapping() -> None:
    from avatarsmith.backends.contracts import enum, model_contract

    flux_dev = model_contract("replicate", "black-forest-labs/flux-dev")
    assert flux_dev is not None
    ratios = enum(flux_dev, "aspect_ratio")  # no 4:3 or 3:4
    assert mapping.nearest_ratio(400, 300, ratios) == "5:4"
    assert mapping.nearest_ratio(300, 400, ratios) == "4:5"
    assert mapping.round_size(500, 500, multiple=16, low=320, high=4096) == (496, 496)
    assert mapping.round_size(100, 100, multiple=16, low=320, high=4096) == (320, 320)
    w, h = mapping.round_size(4096, 4096, multiple=16, low=320, high=4096, max_pixels=4_194_304)
    assert w * h <= 4_194_304 and w % 16 == 0
    assert mapping.nearest_size(512, 768, [(1024, 1024), (1536, 1024), (1024, 1536)]) == (1024, 1536)


def test_negative_prompt_is_folded_only_where_unsupported() -> None:
    spec = _spec("gpt-image-1", "openai", "gpt-image-1", negative_prompt="glasses")
    folded = mapping.plan_prompt(spec, negative_supported=False)
    assert folded.negative is None and folded.prompt.endswith("Avoid: glasses") and folded.adjustments
    kept = mapping.plan_prompt(spec, negative_supported=True)
    assert kept.negative == "glasses" and not kept.adjustments


class _BadPollingUrl(BflVendorFake):
    def serve(self, label: str, req: Request) -> Reply:
        if label == "submit":
            return json_reply(200, {"id": "t1", "polling_url": "http://169.254.169.254/latest/meta-data/"})
        return super().serve(label, req)


def test_a_provider_returned_url_is_ssrf_checked() -> None:
    from avatarsmith.backends.bfl import BflBackend

    spec = _spec("flux-kontext", "bfl", "flux-kontext-pro")
    with serve(_BadPollingUrl()) as fake:
        adapter = BflBackend(fake.url, fake.key, allow_loopback=True)
        with pytest.raises(GenerationRejectedError, match="unsafe URL"):
            adapter.submit(spec, [], deadline=time.time() + 60)
    with serve(BflVendorFake()) as fake:  # loopback answers are refused unless the deployment allows them
        adapter = BflBackend(fake.url, fake.key, allow_loopback=False)
        with pytest.raises(GenerationRejectedError):
            adapter.submit(spec, [], deadline=time.time() + 60)


def test_a_throttled_poll_waits_exactly_retry_after() -> None:
    from avatarsmith.backends.replicate import ReplicateBackend

    spec = _spec("sdxl-replicate", "replicate", "stability-ai/sdxl")
    with serve(ReplicateVendorFake()) as fake:
        adapter = ReplicateBackend(fake.url, fake.key, allow_loopback=True)
        job = adapter.submit(spec, [], deadline=time.time() + 60)
        fake.fail("poll", 429, {"detail": "throttled"}, {"Retry-After": "7"})
        polled = adapter.poll(spec, job)
        assert polled.status == "pending" and polled.poll_after_seconds == 7
        fake.fail("poll", 429, {"detail": "throttled"})  # no Retry-After: the ASL's backoff retries it
        with pytest.raises(Exception, match="rate limited"):
            adapter.poll(spec, polled)


def test_backend_job_state_stays_small() -> None:
    from avatarsmith.backends.replicate import ReplicateBackend

    spec = _spec("sdxl-replicate", "replicate", "stability-ai/sdxl", num_variations=10)
    with serve(ReplicateVendorFake()) as fake:
        job = ReplicateBackend(fake.url, fake.key, allow_loopback=True).submit(
            spec, [], deadline=time.time() + 60
        )
    assert isinstance(job, BackendJob) and len(json.dumps(job.model_dump())) < 8_000


def test_secret_is_read_once_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    from avatarsmith.backends.settings import clear_backend_settings_cache, credential

    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        sm.create_secret(Name="b", SecretString=json.dumps({"openai": "k1"}))
        monkeypatch.setenv("AVATARSMITH_BACKEND_SECRET", "b")
        clear_backend_settings_cache()
        assert credential("openai") == "k1"
        sm.put_secret_value(SecretId="b", SecretString=json.dumps({"openai": "k2"}))
        assert credential("openai") == "k1", "cached"
        clear_backend_settings_cache()
        assert credential("openai") == "k2"
        assert credential("comfyui") is None
        with pytest.raises(GenerationRejectedError, match="no credential for the fal backend"):
            credential("fal")


def test_prompt_optimiser_uses_converse_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.stub import Stubber

    from avatarsmith.logic import prompt_optimizer

    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    reply = {
        "output": {
            "message": {"role": "assistant", "content": [{"text": "studio portrait of a smiling chef"}]}
        },
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }
    stubber.add_response("converse", reply)
    stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    stubber.activate()
    monkeypatch.setattr(prompt_optimizer, "make_client", lambda: client)
    spec = _spec("flux", "offline", "studio-simple", prompt_model="gpt-4o")
    assert (
        prompt_optimizer.choose_prompt(spec, max_chars=100)[0] != "studio portrait of a smiling chef"
    )  # off
    monkeypatch.setenv(prompt_optimizer.MODEL_ENV, "amazon.nova-lite-v1:0")
    prompt, notes = prompt_optimizer.choose_prompt(spec, max_chars=100)
    assert prompt == "studio portrait of a smiling chef"
    assert notes == [
        "prompt rewritten by amazon.nova-lite-v1:0 (Bedrock Converse; "
        "gpt-4o is not served by a configured language-model backend)"
    ]
    prompt, notes = prompt_optimizer.choose_prompt(spec, max_chars=100)
    assert prompt == mapping.final_prompt(spec) and "failed" in notes[0]
