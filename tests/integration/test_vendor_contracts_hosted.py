"""Every hosted-vendor route in the catalog (OpenAI, Replicate, fal, Black Forest Labs) against a strict fake
of its vendor, built from the vendor's published contract (backends/contracts/*.json): over every aspect
ratio the API offers x 1-4 variations x seed x negative prompt x reference photos (where the route claims
them), nothing reaches the vendor in a shape it refuses or ignores, each claimed capability reaches the
vendor's own field for it, every variation comes back and is finished to exactly the asked size, and
each change of plan is named in the provenance adjustments. Faults per vendor run through the state machine:
429 + Retry-After and 5xx retried to completion, moderation fails only that variation (refunded), refused
credentials fail at once with backend_auth_failed naming the backend."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import pytest
from PIL import Image

from avatarsmith import catalog
from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.models.api import GenerateAvatarRequest
from avatarsmith.models.domain import Attributes, GenerationSpec
from avatarsmith.renderer.imaging import finalize_image
from tests.conftest import AwsAccount
from tests.fakes.server import serve
from tests.fakes.vendors.bfl import BflVendorFake
from tests.fakes.vendors.fal import FalVendorFake
from tests.fakes.vendors.openai import OpenAIVendorFake
from tests.fakes.vendors.photos import large_photo
from tests.fakes.vendors.replicate import ReplicateVendorFake
from tests.fakes.vendors.strict import StrictVendorFake
from tests.integration.test_backend_adapters import configure, run_job

FAKES: dict[str, type[StrictVendorFake]] = {
    "openai": OpenAIVendorFake,
    "replicate": ReplicateVendorFake,
    "fal": FalVendorFake,
    "bfl": BflVendorFake,
}
ADAPTERS = {
    "openai": ("avatarsmith.backends.openai", "OpenAIBackend"),
    "replicate": ("avatarsmith.backends.replicate", "ReplicateBackend"),
    "fal": ("avatarsmith.backends.fal", "FalBackend"),
    "bfl": ("avatarsmith.backends.bfl", "BflBackend"),
}
RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4"]
NEGATIVE = "glasses"
GUIDANCE = 5.0


def hosted_routes() -> list[tuple[str, str, str, frozenset[str]]]:
    routes = []
    for model in catalog.load_catalog().models:
        for route in model["routes"]:
            if route["backend"] in FAKES:
                routes.append(
                    (model["id"], route["backend"], route["backend_model"], frozenset(route["capabilities"]))
                )
    return routes


ROUTES = hosted_routes()


def contract_of(backend: str, backend_model: str) -> dict[str, Any]:
    from avatarsmith.backends.contracts import model_contract

    table = model_contract(backend, backend_model)
    assert table is not None, f"no contract table for {backend} {backend_model}"
    return table


def adapter_for(backend: str, fake: StrictVendorFake) -> Any:
    import importlib

    module, cls = ADAPTERS[backend]
    return getattr(importlib.import_module(module), cls)(fake.url, fake.key, allow_loopback=True)


def spec_for(model: str, backend: str, backend_model: str, ratio: str, n: int, seed: int) -> GenerationSpec:
    request = GenerateAvatarRequest.model_validate(
        {"prompt": "portrait of a chef", "output": {"aspect_ratio": ratio}}
    )
    return GenerationSpec(
        prompt="portrait of a chef",
        negative_prompt=NEGATIVE,
        model=model,
        backend=backend,
        backend_model=backend_model,
        seed=seed,
        num_variations=n,
        guidance_scale=GUIDANCE,
        output=request.output_spec(Attributes()),
    )


def drive(adapter: Any, spec: GenerationSpec, refs: list[bytes]) -> tuple[BackendJob, list[VariationOutput]]:
    """What the state machine does: submit, poll until done (handles travel as JSON), fetch."""
    job = adapter.submit(spec, refs, deadline=time.time() + 120)
    for _ in range(30):
        job = BackendJob.model_validate_json(job.model_dump_json())
        if job.status == "succeeded":
            break
        job = adapter.poll(spec, job)
    return job, list(adapter.fetch(spec, refs, job))


def sent_reference(backend: str, body: dict[str, Any]) -> bytes | None:
    """The first reference image as the vendor received it."""
    if backend == "openai":
        return body["images"][0][2] if body.get("images") else None
    for name in ("image_prompt", "input_image", "image"):
        if name in body:
            value = str(body[name])
            return base64.b64decode(value.split(",", 1)[1] if value.startswith("data:") else value)
    return None


CASES = [
    pytest.param(route, ratio, (i % 4) + 1, id=f"{route[0]}-{route[1]}-{ratio}-n{(i % 4) + 1}")
    for route in ROUTES
    for i, ratio in enumerate(RATIOS)
]


@pytest.mark.parametrize(("route", "ratio", "n"), CASES)
def test_route_meets_its_vendor_contract(
    monkeypatch: pytest.MonkeyPatch, route: tuple[str, str, str, frozenset[str]], ratio: str, n: int
) -> None:
    model, backend, backend_model, caps = route
    monkeypatch.setenv("AVATARSMITH_POLL_SECONDS", "*=0")
    spec = spec_for(model, backend, backend_model, ratio, n, seed=4242)
    refs = [large_photo()] if "reference_images" in caps else []
    with serve(FAKES[backend]()) as fake:
        fake.polls_needed = 2
        # When the adapter runs a whole job against the vendor's strict fake
        job, outputs = drive(adapter_for(backend, fake), spec, refs)
        # Then the vendor saw nothing it refuses, and nothing it would silently drop
        assert fake.violations == [], fake.violations
        assert fake.dropped == [], f"fields the vendor ignores: {fake.dropped}"
        # And every variation came back and finishes to exactly the asked size
        assert [o.index for o in outputs] == list(range(n)) and all(o.error_code is None for o in outputs)
        for out in outputs:
            finished = Image.open(
                io.BytesIO(finalize_image(out.image, spec.output.width, spec.output.height, "png"))
            )
            assert finished.size == (spec.output.width, spec.output.height)
        calls = fake.submitted
        assert len(calls) == (1 if backend == "openai" else n)
        adjustments = job.state["adjustments"]
        # And each claimed capability reached the vendor's own field for it
        for i, body in enumerate(calls):
            if "seed" in caps:
                assert body["seed"] == spec.variation_seed(i)
            else:
                assert "seed" not in body
                assert any("not reproducible" in a for a in adjustments)
            if "negative_prompt" in caps:
                assert body["negative_prompt"] == NEGATIVE
            else:
                assert "negative_prompt" not in body and body["prompt"].endswith(f"Avoid: {NEGATIVE}")
                assert any("negative_prompt folded" in a for a in adjustments)
            if "guidance_scale" in caps:
                assert GUIDANCE in (body.get("guidance"), body.get("guidance_scale"))
            if refs:
                sent = sent_reference(backend, body)
                assert sent is not None, "the claimed reference image reached no vendor field"
                w, h = Image.open(io.BytesIO(sent)).size
                assert (w, h) != (3000, 4000) and abs(w / h - 0.75) < 0.01, "resized, never reshaped"
        # And a size the model cannot make is named in the provenance
        offered = (contract_of(backend, backend_model)["fields"].get("aspect_ratio") or {}).get("enum")
        if offered and ratio not in offered:
            assert any(f"aspect ratio {ratio} is not offered" in a for a in adjustments), adjustments
        generated = Image.open(io.BytesIO(outputs[0].image)).size
        if abs(generated[0] / generated[1] - spec.output.width / spec.output.height) > 0.01:
            assert any("cropped/resized" in a for a in adjustments), adjustments


# --- faults, per vendor ------------------------------------------------------------------------------
SUBMIT_LABEL = {"openai": "generate", "replicate": "submit", "fal": "submit", "bfl": "submit"}
POLL_LABEL = {"replicate": "poll", "fal": "status", "bfl": "poll"}
FAULT_MODELS = {  # backend: the public model the fault tests run on it
    "openai": "gpt-image-1",
    "replicate": "imagen3",
    "fal": "imagen3",
    "bfl": "flux",
}


def one_route(backend: str) -> tuple[str, str, str, frozenset[str]]:
    model = FAULT_MODELS[backend]
    return next(r for r in ROUTES if r[0] == model and r[1] == backend)


@pytest.mark.parametrize("backend", sorted(FAKES))
def test_retry_after_is_waited_out_exactly_and_the_call_made_again(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    model, _, backend_model, _ = one_route(backend)
    monkeypatch.setenv("AVATARSMITH_POLL_SECONDS", "*=0")
    spec = spec_for(model, backend, backend_model, "1:1", 1, seed=1)
    with serve(FAKES[backend]()) as fake:
        fake.polls_needed = 1
        # Given the vendor answers 429 with Retry-After: 1 to the first generation call
        fake.throttle(SUBMIT_LABEL[backend], retry_after="1")
        started = time.monotonic()
        # When the job runs
        _, outputs = drive(adapter_for(backend, fake), spec, [])
        # Then the adapter waited the second the vendor asked for, called again, and got the image
        assert time.monotonic() - started >= 1.0
        assert fake.count(SUBMIT_LABEL[backend]) == 2 and outputs[0].image is not None
        assert fake.violations == [] and fake.dropped == []


@pytest.mark.parametrize("backend", sorted(POLL_LABEL))
def test_a_throttled_poll_is_polled_again_after_retry_after(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    model, _, backend_model, _ = one_route(backend)
    monkeypatch.setenv("AVATARSMITH_POLL_SECONDS", "*=0")
    spec = spec_for(model, backend, backend_model, "1:1", 1, seed=1)
    with serve(FAKES[backend]()) as fake:
        adapter = adapter_for(backend, fake)
        job = adapter.submit(spec, [], deadline=time.time() + 60)
        fake.throttle(POLL_LABEL[backend], retry_after="9")
        polled = adapter.poll(spec, job)
        assert polled.status == "pending" and polled.poll_after_seconds == 9  # the Wait state sleeps 9 s
        fake.fail(POLL_LABEL[backend], 503, fake.error_body("server"), {"Retry-After": "4"})
        polled = adapter.poll(spec, polled)
        assert polled.status == "pending" and polled.poll_after_seconds == 4


@pytest.mark.parametrize("backend", sorted(FAKES))
def test_vendor_5xx_is_a_retryable_error(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    from avatarsmith.errors import BackendUnavailableError

    model, _, backend_model, _ = one_route(backend)
    spec = spec_for(model, backend, backend_model, "1:1", 1, seed=1)
    with serve(FAKES[backend]()) as fake:
        fake.unavailable(SUBMIT_LABEL[backend], status=502)
        with pytest.raises(BackendUnavailableError):  # the ASL retries it with backoff
            drive(adapter_for(backend, fake), spec, [])
        assert fake.count(SUBMIT_LABEL[backend]) == 1


@pytest.mark.statemachine
@pytest.mark.parametrize("backend", sorted(FAKES))
def test_refused_credentials_fail_at_once_naming_the_backend(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    model = FAULT_MODELS[backend]
    with serve(FAKES[backend]()) as fake:
        # Given the deployment's key for the vendor is wrong
        configure(aws, monkeypatch, {backend: fake.url}, key="sk-wrong-key-0001")
        # When a job runs
        execution, job, _ = run_job(aws, {"prompt": "x", "model": model, "num_variations": 2})
        # Then it fails at once with backend_auth_failed naming the backend, refunded, never retried
        assert execution["status"] == "FAILED" and job["error"]["code"] == "backend_auth_failed", job
        assert backend in job["error"]["message"]
        assert fake.count(SUBMIT_LABEL[backend]) == 1
        assert job["credits"]["charged"] == 0 and job["credits"]["refunded"] == job["credits"]["reserved"]
        assert fake.violations == []
    # And the operator sees why in the logs, without the key
    refused = [r for r in caplog.records if r.getMessage() == "backend refused the deployment's credentials"]
    assert refused and refused[0].levelname == "ERROR" and getattr(refused[0], "backend", None) == backend
    assert not any("sk-wrong-key-0001" in str(vars(r)) for r in caplog.records), "the key was logged"


@pytest.mark.statemachine
@pytest.mark.parametrize("backend", sorted(FAKES))
def test_moderation_fails_only_that_variation_refunded(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    model = FAULT_MODELS[backend]
    with serve(FAKES[backend]()) as fake:
        configure(aws, monkeypatch, {backend: fake.url})
        fake.polls_needed = 1
        if isinstance(fake, OpenAIVendorFake):
            fake.moderate_next = 1  # OpenAI moderates the whole call: every variation
        else:
            fake.moderate = {1}  # the vendor blocks the second variation's task
        if isinstance(fake, BflVendorFake):
            fake.moderation_status = "Request Moderated"
        execution, job, _ = run_job(aws, {"prompt": "x", "model": model, "num_variations": 2, "seed": 3})
        per = job["credits"]["reserved"] // 2
        if backend == "openai":
            assert execution["status"] == "FAILED" and job["error"]["code"] == "content_moderated", job
            assert job["credits"] == {"reserved": 2 * per, "charged": 0, "refunded": 2 * per}
        else:
            assert execution["status"] == "SUCCEEDED", job
            assert [(a["status"], a.get("error_code")) for a in job["avatars"]] == [
                ("completed", None),
                ("failed", "content_moderated"),
            ]
            assert job["credits"] == {"reserved": 2 * per, "charged": per, "refunded": per}
        assert fake.violations == [] and fake.dropped == []


def test_guidance_outside_the_models_range_is_clamped_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATARSMITH_POLL_SECONDS", "*=0")
    spec = spec_for("flux", "replicate", "black-forest-labs/flux-dev", "3:4", 1, seed=1)
    spec = spec.model_copy(update={"guidance_scale": 15.0})  # our API takes 1-20; flux-dev's guidance 0-10
    with serve(ReplicateVendorFake()) as fake:
        job, _ = drive(adapter_for("replicate", fake), spec, [])
        assert fake.violations == [] and fake.submitted[0]["guidance"] == 10
        assert fake.submitted[0]["aspect_ratio"] == "4:5"
    assert "guidance_scale 15 is outside the backend's range; sent 10" in job.state["adjustments"]
    assert (
        "aspect ratio 3:4 is not offered by black-forest-labs/flux-dev: generated at 4:5"
        in job.state["adjustments"]
    )
