"""StoreImages' inner loop: each variation stored as the backend hands it over, with the job checked before
each store (one consistent read), so that a cancel or the job's deadline stops the work within the variation
in progress and the next one is never drawn. The caller deletes what was stored (logic/discard.py). A cancel
that lands between the check and the write is caught by whatever follows the write: the next variation's
check, or the settling write, which is conditional on `processing` and deletes the images when it fails."""

from __future__ import annotations

from typing import Any

from avatarsmith.dal.storage import image_key
from avatarsmith.errors import JobNotRunnableError
from avatarsmith.logic.job_end import check_deadline
from avatarsmith.logic.services import Services
from avatarsmith.logic.stored_images import SEED_METADATA
from avatarsmith.models.domain import Job, JobStatus, Variation


def still_running(services: Services, job: Job) -> None:
    """The processor's check between variations and around each store: one consistent read of the job;
    JobNotRunnableError once it is canceled (or otherwise ended), DeadlineExceededError past its deadline."""
    current = services.jobs.get(job.tenant_id, job.id, consistent=True)
    if current is None or current.status != JobStatus.PROCESSING:
        status = current.status.value if current else "gone"
        raise JobNotRunnableError(f"job {job.id} is {status}")
    check_deadline(current)


def store_outputs(
    services: Services, job: Job, outputs: Any, variations: list[dict[str, Any]], *, record_last: bool
) -> None:
    """Store each output as it arrives (the backend renders the next one only when asked for it), checking
    the job before each store: a cancel stops the work within the variation in progress."""
    from avatarsmith.renderer.imaging import content_type_for, extension_for, finalize_image

    spec = job.spec
    fmt = spec.output.format
    for out in outputs:
        if out.image is None:
            variations.append(
                Variation(
                    index=out.index,
                    status="failed",
                    seed=out.seed,
                    error_code=out.error_code or "generation_failed",
                ).model_dump()
            )
            continue
        still_running(services, job)
        image_bytes = finalize_image(out.image, spec.output.width, spec.output.height, fmt)
        key = image_key(job.tenant_id, job.id, out.index, extension_for(fmt))
        seed = {SEED_METADATA: str(out.seed)} if out.seed is not None else None
        # One object per variation: its thumbnail is rendered when a client asks (logic/thumbnails.py)
        services.images.put(key, image_bytes, content_type_for(fmt), metadata=seed)
        stored_so_far = sum(1 for v in variations if v["status"] == "completed") + 1
        if record_last or len(variations) + 1 < spec.num_variations:
            services.jobs.record(job, set_values={"variations_stored": stored_so_far})  # progress
        variations.append(
            Variation(
                index=out.index,
                status="completed",
                width=spec.output.width,
                height=spec.output.height,
                format=fmt,
                seed=out.seed,
                image_key=key,
            ).model_dump(exclude_none=True)
        )
