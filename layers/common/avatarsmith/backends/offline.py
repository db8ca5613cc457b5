"""The built-in backend: renders synchronously with the offline renderer.

`submit` already answers `succeeded`; the images are drawn in `fetch` (StoreImages), so nothing but the
small handle crosses the state machine. Pillow is imported only when `fetch` runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from avatarsmith.backends.base import BackendJob, VariationOutput
from avatarsmith.models.domain import GenerationSpec
from avatarsmith.renderer import RENDERER_VERSION


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


class OfflineBackend:
    name = "offline"
    version = RENDERER_VERSION

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        return BackendJob(
            backend=self.name,
            backend_job_id=f"off_{spec_digest(spec)}",
            status="succeeded",
            deadline=deadline,
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
