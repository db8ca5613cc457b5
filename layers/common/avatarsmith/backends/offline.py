"""The built-in backend: renders synchronously with the offline renderer.

`submit` already answers `succeeded`; the images are drawn in `fetch` (StoreImages), so nothing but the
small handle crosses the state machine. Pillow is imported only when `fetch` runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from avatarsmith import catalog
from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.models.domain import GenerationSpec
from avatarsmith.renderer import RENDERER_VERSION

NO_PHOTOREALISM = (
    "photorealism is beyond the offline renderer: drawn as a softly shaded illustration "
    "(use a real backend, or a reference photo, for a realistic avatar)"
)


def spec_digest(spec: GenerationSpec) -> str:
    """16 hex digits identifying the spec: the same spec always gets the same backend job id."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def render_all(
    spec: GenerationSpec, references: list[bytes], skip: frozenset[int] = frozenset()
) -> Iterator[VariationOutput]:
    """Render every variation not in `skip`, one at a time (the caller stores each as it arrives)."""
    from avatarsmith.renderer.simple import render_variation

    for i in range(spec.num_variations):
        if i not in skip:
            yield VariationOutput(
                index=i, image=render_variation(spec, i, references), seed=spec.variation_seed(i)
            )


def scene_notes(
    spec: GenerationSpec, references: list[bytes] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """What the renderer will draw for the job (variation 0's scene, in plain words) and the provenance
    notes: the prompt words it could not draw, and the promises it cannot keep. Pillow-free for a text
    job; a photo job's summary (renderer.photo_render.photo_summary) decodes the photos and finds the
    face, which the render then reuses."""
    import re

    from avatarsmith.renderer.describe import describe
    from avatarsmith.renderer.vocabulary import PHOTOREAL_PROMISE

    scene = describe(spec, 0)
    notes: list[str] = []
    route = catalog.find_route(spec.model, "offline") if spec.model else None
    promised = scene.style == "realistic" or (route is not None and "realistic" in route.description.lower())
    text = (
        f"{spec.prompt or ''} {' '.join(str(v) for v in spec.hints.values() if isinstance(v, str))}".lower()
    )
    if not references and (promised or re.search(PHOTOREAL_PROMISE, text)):
        notes.append(NO_PHOTOREALISM)
    if scene.unmatched:
        notes.append(f"not drawn (the offline renderer has no picture for): {', '.join(scene.unmatched)}")
    if references:
        from avatarsmith.renderer.photo_render import photo_summary

        summary = photo_summary(scene, references, (spec.output.width, spec.output.height))
    else:
        summary = scene.summary()
    if scene.style_implied:
        notes.append(f"style {scene.style} implied by the prompt")
    return summary, notes


class OfflineBackend:
    name = "offline"
    version = RENDERER_VERSION

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        summary, notes = scene_notes(spec, references)
        return BackendJob(
            backend=self.name,
            backend_job_id=f"off_{spec_digest(spec)}",
            status="succeeded",
            deadline=deadline,
            state={"scene": summary, "adjustments": notes},
        )

    def poll(self, spec: GenerationSpec, job: BackendJob) -> BackendJob:
        return job

    def fetch(
        self,
        spec: GenerationSpec,
        references: list[bytes],
        job: BackendJob,
        *,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        return render_all(spec, references, skip)
