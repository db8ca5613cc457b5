"""Driving an adapter the way the workflow does (submit, poll, fetch, then StoreImages' exact fit) over the
request matrix the public API accepts, for the vendor-contract tests."""

from __future__ import annotations

import io
import itertools
import time
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from avatarsmith.models.domain import GenerationSpec, ReferenceImage
from tests.fakes.vendors.photos import large_photo

RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4"]


@dataclass
class Case:
    ratio: str
    variations: int
    seed: int
    negative: str | None
    references: int

    @property
    def id(self) -> str:
        neg = "neg" if self.negative else "noneg"
        return f"{self.ratio}-n{self.variations}-s{self.seed}-{neg}-r{self.references}"


def matrix(*, references: bool) -> list[Case]:
    """Every ratio x 1-4 variations, seeds and negative prompts varied along, references where claimed
    (references once per ratio, with 1 or 2 photos: fitting a 12 MP photo is the slow part)."""
    cases = []
    seeds = [0, 7, 2_147_483_000]
    for i, (ratio, n) in enumerate(itertools.product(RATIOS, [1, 2, 3, 4])):
        r = RATIOS.index(ratio)
        refs = (1 + r % 2) if references and n == 1 + r % 4 else 0  # once per ratio, 1 or 2 photos
        cases.append(Case(ratio, n, seeds[i % 3], "blurry, hat" if i % 2 else None, refs))
    return cases


def configure(monkeypatch: pytest.MonkeyPatch, backends: str) -> None:
    from avatarsmith.backends.settings import clear_backend_settings_cache

    monkeypatch.setenv("AVATARSMITH_BACKENDS", backends)
    monkeypatch.setenv("AVATARSMITH_ALLOW_LOOPBACK_URLS", "1")
    monkeypatch.setenv("AVATARSMITH_POLL_SECONDS", "*=0")
    monkeypatch.delenv("AVATARSMITH_BACKEND_SECRET", raising=False)
    clear_backend_settings_cache()


def build_spec(
    model: str, case: Case, *, prompt: str = "portrait of a woman with red hair"
) -> GenerationSpec:
    """The spec the API builds for this request (same model resolution, output sizing and submit checks)."""
    from avatarsmith.logic.jobs import check_backend_limits, resolve_model
    from avatarsmith.models.api import GenerateAvatarRequest

    body: dict[str, Any] = {
        "prompt": prompt,
        "model": model,
        "aspect_ratio": case.ratio,
        "num_variations": case.variations,
        "seed": case.seed,
        "guidance_scale": 6,
    }
    if case.negative:
        body["negative_prompt"] = case.negative
    request = GenerateAvatarRequest.model_validate(body)
    entry, _ = resolve_model(request.model, include_test=False)
    attributes = request.merged_attributes()
    refs = [
        ReferenceImage(kind="s3", location=f"ref-{i}", media_type="image/jpeg")
        for i in range(case.references)
    ]
    spec = GenerationSpec(
        prompt=request.description(),
        negative_prompt=request.negative_prompt,
        model=entry.id,
        style=request.style_name(),
        attributes=attributes,
        hints=request.hint_map(),
        reference_images=refs,
        output=request.output_spec(attributes),
        guidance_scale=request.guidance(),
        seed=case.seed,
        num_variations=request.variations(),
        backend=entry.backend,
        backend_model=entry.backend_model,
    )
    check_backend_limits(entry, spec)
    return spec


def run(
    backend_name: str, spec: GenerationSpec, references: list[bytes], *, polls: int = 50
) -> tuple[list[Any], list[str]]:
    """submit, poll until done, fetch; each output finalised like StoreImages. -> (outputs, adjustments)"""
    from avatarsmith.backends.registry import get_backend
    from avatarsmith.renderer.imaging import finalize_image

    backend = get_backend(backend_name)
    job = backend.submit(spec, references, deadline=time.time() + 120)
    for _ in range(polls):
        if job.status == "succeeded":
            break
        job = backend.poll(spec, job)
    assert job.status == "succeeded", job
    outputs = []
    for out in backend.fetch(spec, references, job):
        final = None
        if out.image is not None:
            final = Image.open(
                io.BytesIO(finalize_image(out.image, spec.output.width, spec.output.height, "png"))
            )
        outputs.append((out, final))
    return outputs, list(job.state.get("adjustments", []))


def reference_photos(count: int) -> list[bytes]:
    return [large_photo()] * count
