"""What a previous StoreImages (or Generate) run already stored of a job: a retried run resumes from it."""

from __future__ import annotations

from typing import Any

from avatarsmith.dal.storage import image_key
from avatarsmith.logic.services import Services
from avatarsmith.models.domain import Job, Variation

SEED_METADATA = "seed"  # S3 object metadata on each stored image: the seed its variation used


def already_stored(services: Services, job: Job) -> list[dict[str, Any]]:
    """Completed variations a previous run of StoreImages already wrote."""
    from avatarsmith.renderer.imaging import extension_for

    spec = job.spec
    ext = extension_for(spec.output.format)
    stored: list[dict[str, Any]] = []
    for index in range(spec.num_variations):
        key = image_key(job.tenant_id, job.id, index, ext)
        # One HEAD per variation (the image is its only object) costs a tenth of a LIST request.
        metadata = services.images.metadata_if_stored(key)
        if metadata is None:
            continue
        seed = metadata.get(SEED_METADATA)
        stored.append(
            Variation(
                index=index,
                status="completed",
                width=spec.output.width,
                height=spec.output.height,
                format=spec.output.format,
                seed=int(seed) if seed and seed.isdigit() else None,
                image_key=key,
            ).model_dump(exclude_none=True)
        )
    return stored
