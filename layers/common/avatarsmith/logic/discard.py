"""A job that ends without being charged keeps no images: no unbilled images.

A cancel (API or deadline) or a failure refunds every reserved credit, so whatever the generation step had
already stored for the job - its images, and thumbnails rendered from them - is deleted with it. The
processor checks the job between variations and around each store (logic/workflow.py), and whoever ends the
job deletes what is there after its settling write; a store that lands after that write is seen by the
processor's check right after it, which deletes it too. Reference photos are not touched here (they
follow the job's reference retention, logic/job_end.py).
"""

from __future__ import annotations

from avatarsmith.dal.storage import job_prefix
from avatarsmith.errors import StorageError
from avatarsmith.logic.services import Services
from avatarsmith.models.domain import Job, Variation
from avatarsmith.observability import logger


def discard_job_images(services: Services, job: Job) -> int:
    """Delete every image object stored for the job; returns how many there were. A storage failure is
    logged (the processor's own check, or the next terminal step, deletes them again)."""
    references = {r.location for r in job.spec.reference_images if r.kind == "s3"}
    try:
        keys = sorted(services.images.keys_under(job_prefix(job.tenant_id, job.id)) - references)
        if keys:
            services.images.delete(keys)
    except StorageError:
        logger.exception("could not delete the images of an unbilled job", extra={"job_id": job.id})
        return 0
    if keys:
        logger.info("images of an unbilled job deleted", extra={"job_id": job.id, "count": len(keys)})
    return len(keys)


def unbilled_variations(job: Job, error_code: str) -> list[Variation]:
    """The job's variations as an unbilled end leaves them: failed, with no image."""
    return [
        v.model_copy(
            update={
                "status": "failed",
                "error_code": v.error_code if v.status != "completed" and v.error_code else error_code,
                "image_key": None,
                "thumbnail_key": None,
            }
        )
        for v in job.variations
    ]
