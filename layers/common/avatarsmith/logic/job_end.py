"""What every workflow step shares about a job's end: its own deadline (Cancel-After / deadline_seconds,
counted from creation) and deleting its reference photos once it is over (unless it asked to keep them).

Kept out of the state machine definition so every workflow that runs the processor's steps gets both.
"""

from __future__ import annotations

import json
import math
import re
import time

from avatarsmith.backends.base import BackendJob
from avatarsmith.errors import DeadlineExceededError, JobNotFinishedError, StorageError, error_code_for
from avatarsmith.logic.batches import note_job_finished
from avatarsmith.logic.clock import epoch_of, now_iso
from avatarsmith.logic.services import Services
from avatarsmith.models.domain import Job
from avatarsmith.observability import logger


def job_deadline(job: Job) -> float | None:
    return epoch_of(job.deadline_at) if job.deadline_at else None


def check_deadline(job: Job, *, now: float | None = None) -> None:
    """Raise DeadlineExceededError once the job's own deadline has passed."""
    deadline = job_deadline(job)
    if deadline is not None and (time.time() if now is None else now) >= deadline:
        raise DeadlineExceededError(f"the job passed its deadline ({job.deadline_at}) and was canceled")


def backend_deadline(job: Job, operator_seconds: int) -> float:
    """The operator's generation deadline counts from the job's creation; the job's own one may be sooner."""
    operator = epoch_of(job.created_at) + operator_seconds
    own = job_deadline(job)
    return min(operator, own) if own is not None else operator


def clamp_wait(job: Job, handle: BackendJob, *, now: float | None = None) -> BackendJob:
    """Never wait past the job's deadline before the next poll."""
    deadline = job_deadline(job)
    if deadline is None or handle.status != "pending":
        return handle
    left = max(0, math.ceil(deadline - (time.time() if now is None else now)))
    if handle.poll_after_seconds <= left:
        return handle
    return handle.model_copy(update={"poll_after_seconds": left})


def job_ended(services: Services, job: Job) -> Job:
    """What follows every terminal transition a workflow step sees (safe to repeat): the job's batch
    counts it, and its reference photos are deleted."""
    if job.status.is_terminal:
        note_job_finished(services, job)
    return purge_references(services, job)


def nothing_to_purge(job: Job, now: str) -> dict[str, str]:
    """For the settling write: a job with no stored reference photos records its purge there and then,
    saving the separate write `purge_references` would make once it is over."""
    if job.reference_retention == "keep" or job.references_purged_at:
        return {}
    if any(r.kind == "s3" for r in job.spec.reference_images):
        return {}
    return {"references_purged_at": now}


def purge_references(services: Services, job: Job) -> Job:
    """Delete the finished job's stored reference photos (inline ones and uploads) unless it keeps them,
    and record when. Safe to repeat; a storage failure is logged and left for the next terminal step."""
    if job.reference_retention == "keep" or job.references_purged_at or not job.status.is_terminal:
        return job
    keys = [r.location for r in job.spec.reference_images if r.kind == "s3"]
    try:
        if keys:
            services.images.delete(keys)
    except StorageError:
        logger.exception("could not delete reference photos", extra={"job_id": job.id})
        return job
    updated = services.jobs.record(job, set_values={"references_purged_at": now_iso()})
    if keys:
        logger.info("reference photos deleted", extra={"job_id": job.id, "count": len(keys)})
    return updated or job


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_DEADLINE_SECONDS = 86_400


def parse_cancel_after(value: str) -> int:
    """`Cancel-After` as Replicate spells it: `45s`, `5m`, `1h30m`, or plain seconds. ValueError if not."""
    text = value.strip().lower()
    if text.isdigit():
        seconds = int(text)
    else:
        match = _DURATION.match(text)
        if not text or match is None:
            raise ValueError(value)
        hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not 1 <= seconds <= MAX_DEADLINE_SECONDS:
        raise ValueError(value)
    return seconds


def erase_job(services: Services, tenant_id: str, job_id: str) -> Job:
    """DELETE /v1/jobs/{id}: a finished job's images, thumbnails and reference photos are deleted; the job
    record stays (billing history) without image links. Saved avatars keep their own copies."""
    from avatarsmith.dal.storage import job_prefix
    from avatarsmith.logic.jobs import get_job

    job = get_job(services, tenant_id, job_id)
    if not job.status.is_terminal:
        raise JobNotFinishedError(
            f"job {job_id} is {job.status.value}; cancel it first, then delete it", param="job_id"
        )
    keys = services.images.keys_under(job_prefix(tenant_id, job_id))
    keys.update(r.location for r in job.spec.reference_images if r.kind == "s3")
    services.images.delete(sorted(keys))
    now = now_iso()
    variations = [v.model_copy(update={"image_key": None, "thumbnail_key": None}) for v in job.variations]
    changes: dict[str, object] = {"variations": variations, "erased_at": job.erased_at or now}
    if not job.references_purged_at:
        changes["references_purged_at"] = now
    updated = services.jobs.record(job, set_values=changes)
    logger.info("job erased", extra={"job_id": job_id, "objects": len(keys)})
    return updated or job


def failure_message(error_name: str, cause: str | None) -> str:
    """A safe, user-facing message. Only our own typed errors' messages are shown."""
    if cause:
        try:
            parsed = json.loads(cause)
            message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
        except ValueError:
            message = None
        if message and error_code_for(error_name) != "generation_failed":
            return str(message)[:500]
    if error_name == "States.Timeout":
        return "the generation step timed out"
    return "the generation failed; the reserved credits were refunded"
