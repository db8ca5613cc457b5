"""The generation workflow's steps, run by the processor function as state machine tasks.

Each step is safe to run twice (Step Functions retries and at-least-once delivery): state changes are
conditional writes, and a step that finds its work already done returns the same answer.

The EXPRESS workflow (synchronous backends) runs at least once: a whole run may be duplicated and run
concurrently. Its steps pass the run's id (`run_id`, the execution id): SubmitGeneration claims the job's
generation for one live run (the others stop), and the settling step records which run settled the job,
so only that run publishes the terminal event.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any, overload

from avatarsmith import catalog
from avatarsmith.backends.base import BackendJob
from avatarsmith.backends.registry import get_backend
from avatarsmith.dal.jobs import StaleJobError
from avatarsmith.errors import (
    ContentModeratedError,
    DeadlineExceededError,
    GenerationClaimedError,
    GenerationRejectedError,
    GenerationTimeoutError,
    JobNotRunnableError,
    StorageError,
    error_code_for,
)
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.discard import discard_job_images, unbilled_variations
from avatarsmith.logic.events import (
    EVENT_VERSION,
    detail_type_for,
    job_event_detail,
    with_webhook_receivers,
)
from avatarsmith.logic.job_end import (
    backend_deadline,
    check_deadline,
    clamp_wait,
    failure_message,
    job_deadline,
    job_ended,
    nothing_to_purge,
)
from avatarsmith.logic.prompt_optimizer import choose_prompt
from avatarsmith.logic.prompting import compose_prompt, prompt_budget
from avatarsmith.logic.references import load_references
from avatarsmith.logic.services import Services
from avatarsmith.logic.store_step import store_outputs
from avatarsmith.logic.stored_images import already_stored
from avatarsmith.models.domain import GenerationSpec, Job, JobError, JobStatus, Provenance, Variation
from avatarsmith.observability import logger


def _load_job(services: Services, tenant_id: str, job_id: str) -> Job:
    job = services.jobs.get(tenant_id, job_id, consistent=True)
    if job is None:
        raise JobNotRunnableError(f"job {job_id} does not exist")
    return job


def _model_entry(job: Job) -> catalog.ModelEntry:
    """The route the job was created with (kept even if configuration changed since), else the catalog's."""
    entry = None
    if job.spec.backend:
        entry = catalog.find_route(job.spec.model, job.spec.backend)
    if entry is None:
        entry = catalog.find_model(job.spec.model, include_test=True)
    if entry is None:
        raise GenerationRejectedError(f"model {job.spec.model} is no longer in the catalog")
    return entry


# An EXPRESS run lasts at most 5 minutes: a claim older than this belongs to a run that has ended.
RUN_CLAIM_LEASE_SECONDS = 330


@overload
def run_key(run_id: str) -> str: ...
@overload
def run_key(run_id: None) -> None: ...
def run_key(run_id: str | None) -> str | None:
    """What the job item stores of a run's id (an execution ARN, ~130 bytes): a 64-bit digest, enough to
    tell the runs of one job apart and short enough to keep the item under one write unit."""
    if run_id is None:
        return None
    return "r" + hashlib.sha256(run_id.encode()).hexdigest()[:16]


def submit_generation(
    services: Services, *, tenant_id: str, job_id: str, deadline_seconds: int, run_id: str | None = None
) -> dict[str, Any]:
    """SubmitGeneration: queued -> processing, then hand the spec to the model's backend.

    With `run_id` (EXPRESS runs) the run also claims the job's generation, in the same write; a duplicate
    run that finds another live run's claim raises GenerationClaimedError and stops.
    """
    job, fresh = _start(services, tenant_id, job_id, run_id)
    _, submitted, _ = _submit(services, job, fresh, deadline_seconds=deadline_seconds, run_id=run_id)
    return submitted.model_dump()


def _start(services: Services, tenant_id: str, job_id: str, run_id: str | None) -> tuple[Job, bool]:
    """queued -> processing (with the run's claim) in one conditional write that answers the job, with no
    read before it: (the job as stored now, whether this call moved it out of `queued`)."""
    claim = {"generation_run": run_id, "generation_claimed_at": int(time.time())} if run_id else None
    job, fresh = services.jobs.start(tenant_id, job_id, now=now_iso(), changes=claim)
    if job is None:
        raise JobNotRunnableError(f"job {job_id} does not exist")
    return job, fresh


def _submit(
    services: Services,
    job: Job,
    fresh: bool,
    *,
    deadline_seconds: int,
    run_id: str | None,
    progress_event: bool = True,
) -> tuple[Job, BackendJob, bool]:
    """SubmitGeneration on a started job (`fresh`: `_start` moved it out of `queued`, so no earlier run
    can have stored any of its images): (the job as now stored, the backend's handle, `fresh`)."""
    job_id = job.id
    if job.status != JobStatus.PROCESSING:
        raise JobNotRunnableError(f"job {job_id} is {job.status.value}")
    if run_id and job.generation_run != run_id:
        now = int(time.time())
        try:
            job = services.jobs.claim_generation(
                job, run_id=run_id, now=now, stale_before=now - RUN_CLAIM_LEASE_SECONDS
            )
        except StaleJobError as exc:
            raise GenerationClaimedError(f"another run is generating job {job_id}") from exc
    check_deadline(job)
    if services.events is not None and progress_event:
        # Published on every run of this step (a retry publishes again): subscribers dedupe on
        # job id + status, and the notifier's delivery ids are derived from them.
        services.events.put(detail_type_for(job.status.value), job_event_detail(job))
    entry = _model_entry(job)
    backend = get_backend(entry.backend)
    references = load_references(services, job)
    prompt, notes = choose_prompt(job.spec, max_chars=prompt_budget(entry, job.spec))
    spec = _backend_spec(job, entry, prompt)
    submitted = backend.submit(spec, references, deadline=backend_deadline(job, deadline_seconds))
    state = dict(submitted.state)
    state["final_prompt"] = prompt
    state["backend_version"] = backend.version
    state["adjustments"] = [*notes, *state.get("adjustments", [])]
    submitted = clamp_wait(job, submitted.model_copy(update={"state": state}))
    logger.info(
        "generation submitted",
        extra={"job_id": job_id, "backend": backend.name, "backend_job_id": submitted.backend_job_id},
    )
    return job, submitted, fresh


def generate(
    services: Services,
    *,
    tenant_id: str,
    job_id: str,
    deadline_seconds: int,
    run_id: str,
    progress_event: bool = True,
) -> dict[str, Any]:
    """Generate (EXPRESS, synchronous backends): SubmitGeneration, StoreImages and MarkCompleted in one
    invocation, with the same claim, resume and settle-once rules as the separate steps. A failure raises
    (the state machine catches it into MarkFailed); a duplicate run stops with GenerationClaimedError.
    `progress_event`: publish `processing` (the deployment's ProgressEvents=all)."""
    job, fresh = _start(services, tenant_id, job_id, run_id)
    if job.status == JobStatus.COMPLETED:  # a retry after this or another run settled it
        ended = job_ended(services, job)
        return _settled(services, _event(ended), ended, run_id)
    job, handle, fresh = _submit(
        services, job, fresh, deadline_seconds=deadline_seconds, run_id=run_id, progress_event=progress_event
    )
    if handle.status != "succeeded":
        raise GenerationRejectedError("the model's backend is not synchronous")
    variations = _store(services, job, handle, resume=not fresh, record_last=False)
    return _complete(services, job, handle, variations, run_id)


def _backend_spec(job: Job, entry: catalog.ModelEntry, prompt: str) -> GenerationSpec:
    """The spec a backend receives: the job's, with its route and the prompt chosen at submit."""
    return job.spec.model_copy(
        update={"backend": entry.backend, "backend_model": entry.backend_model, "final_prompt": prompt}
    )


def _handle_spec(job: Job, handle: BackendJob) -> GenerationSpec:
    entry = _model_entry(job)
    return _backend_spec(job, entry, str(handle.state.get("final_prompt") or compose_prompt(job.spec)))


def _cancel_quietly(backend: Any, spec: GenerationSpec, handle: BackendJob) -> None:
    cancel = getattr(backend, "cancel", None)
    if cancel is None:
        return
    try:
        cancel(spec, handle)
    except Exception:  # best effort: the job fails with generation_timeout either way
        logger.warning("backend job could not be cancelled", extra={"backend": handle.backend})


def poll_generation(
    services: Services, *, tenant_id: str, job_id: str, generation: dict[str, Any], settle: bool = False
) -> dict[str, Any]:
    """PollGeneration: ask the backend again; fail with generation_timeout past the job's deadline.
    `settle`: when the images are ready, store them and complete the job in this same invocation."""
    handle = BackendJob.model_validate(generation)
    job = _load_job(services, tenant_id, job_id)
    if settle and job.status == JobStatus.COMPLETED:  # a retry after this step's settling write
        return _completed_result(services, job)
    backend = get_backend(handle.backend)
    spec = _handle_spec(job, handle) if job.spec.backend else job.spec
    if job.status == JobStatus.PROCESSING and time.time() >= (job_deadline(job) or math.inf):
        _cancel_quietly(backend, spec, handle)
        check_deadline(job)
    if time.time() > handle.deadline:
        _cancel_quietly(backend, spec, handle)
        raise GenerationTimeoutError(f"generation did not finish before its deadline ({handle.polls} polls)")
    if job.status != JobStatus.PROCESSING:
        _cancel_quietly(backend, spec, handle)
        raise JobNotRunnableError(f"job {job_id} is {job.status.value}")
    polled = clamp_wait(job, backend.poll(spec, handle))
    if settle and polled.status == "succeeded":
        return _store_and_complete(services, job, polled)
    return polled.model_dump()


def store_images(
    services: Services, *, tenant_id: str, job_id: str, generation: dict[str, Any], settle: bool = False
) -> dict[str, Any]:
    """StoreImages: fetch the outputs at once (provider URLs expire), encode, write to S3, each as it
    arrives; a retried run skips the variations a previous run already stored. `settle`: then complete
    the job in this same invocation (MarkCompleted's work; a retry after it answers the same)."""
    handle = BackendJob.model_validate(generation)
    job = _load_job(services, tenant_id, job_id)
    if settle:
        if job.status == JobStatus.COMPLETED:
            return _completed_result(services, job)
        return _store_and_complete(services, job, handle)
    return {"variations": _store(services, job, handle, resume=True, record_last=True)}


def _store_and_complete(services: Services, job: Job, handle: BackendJob) -> dict[str, Any]:
    """StoreImages then MarkCompleted on a loaded job (STANDARD runs): `{"status": "completed", "event"}`,
    the event detail MarkCompleted answers."""
    variations = _store(services, job, handle, resume=True, record_last=False)
    return {"status": "completed", "event": _complete(services, job, handle, variations, None)}


def _completed_result(services: Services, job: Job) -> dict[str, Any]:
    ended = job_ended(services, job)
    return {"status": "completed", "event": _settled(services, _event(ended), ended, None)}


def _store(
    services: Services, job: Job, handle: BackendJob, *, resume: bool, record_last: bool
) -> list[dict[str, Any]]:
    """StoreImages on a loaded job. `resume`: look for variations an earlier run stored (not needed when
    this run just moved the job out of `queued`). `record_last`: record progress for the last variation
    too (not needed when the job is settled in the same invocation right after)."""
    job_id = job.id
    if job.status != JobStatus.PROCESSING:
        _discard_if_unbilled(services, job)  # a retried step after a cancel: what an earlier run stored
        raise JobNotRunnableError(f"job {job_id} is {job.status.value}")
    check_deadline(job)
    spec = job.spec
    backend_spec = _handle_spec(job, handle) if spec.backend else spec
    # A retried StoreImages (throttled part-way through) resumes: variations whose image and thumbnail
    # are already stored are not generated (or paid for) again.
    variations = already_stored(services, job) if resume else []
    outputs = get_backend(handle.backend).fetch(
        backend_spec,
        load_references(services, job),
        handle,
        skip=frozenset(int(v["index"]) for v in variations),
    )
    try:
        store_outputs(services, job, outputs, variations, record_last=record_last)
    except (JobNotRunnableError, DeadlineExceededError):
        # Canceled (or past its deadline) while generating: nothing more is stored, nothing stays stored.
        _discard_if_unbilled(services, job)
        logger.info("generation stopped: the job ended", extra={"job_id": job_id})
        raise
    variations.sort(key=lambda v: int(v["index"]))
    if not any(v["status"] == "completed" for v in variations):
        codes = {v.get("error_code") for v in variations}
        if codes == {ContentModeratedError.code}:
            raise ContentModeratedError("every variation was blocked by the backend's content moderation")
        raise GenerationRejectedError(
            f"no variation could be generated ({', '.join(sorted(map(str, codes)))})"
        )
    return variations


def _discard_if_unbilled(services: Services, job: Job) -> None:
    """Delete the job's images if it ended unbilled (canceled, failed). A completed job keeps them: a
    duplicate run that finds it settled by another run must not touch them."""
    current = services.jobs.get(job.tenant_id, job.id, consistent=True)
    if current is not None and current.status in (JobStatus.CANCELED, JobStatus.FAILED):
        discard_job_images(services, current)


def _event(job: Job) -> dict[str, Any]:
    """The thin EventBridge detail the ASL publishes (see logic/events.py and its JSON Schema)."""
    return job_event_detail(job)


def _settled(services: Services, detail: dict[str, Any], job: Job, run_id: str | None) -> dict[str, Any]:
    """What a settling step answers. STANDARD runs get the event detail itself; EXPRESS runs get it with
    `publish`, true only for the run that settled the job (a retry of that run's step included)."""
    if run_id is None:
        return with_webhook_receivers(services, job, detail)
    publish = job.settled_by == run_id
    return {"event": with_webhook_receivers(services, job, detail) if publish else detail, "publish": publish}


def mark_completed(
    services: Services,
    *,
    tenant_id: str,
    job_id: str,
    generation: dict[str, Any],
    variations: list[dict[str, Any]],
    run_id: str | None = None,
) -> dict[str, Any]:
    """MarkCompleted: processing -> completed; charge completed variations, refund the rest."""
    handle = BackendJob.model_validate(generation)
    job = _load_job(services, tenant_id, job_id)
    if job.status == JobStatus.COMPLETED:
        ended = job_ended(services, job)
        return _settled(services, _event(ended), ended, run_id)  # a retried step: already done
    return _complete(services, job, handle, variations, run_id)


def _complete(
    services: Services,
    job: Job,
    handle: BackendJob,
    variations: list[dict[str, Any]],
    run_id: str | None,
) -> dict[str, Any]:
    """MarkCompleted on a loaded job (its settling write is conditional on `processing`)."""
    job_id = job.id
    entry = _model_entry(job)
    stored = [Variation.model_validate(v) for v in variations]
    completed = sum(1 for v in stored if v.status == "completed")
    charged = min(job.credits.reserved, completed * entry.credits_per_variation)
    credits = job.credits.model_copy(update={"charged": charged, "refunded": job.credits.reserved - charged})
    version = handle.state.get("backend_version") or get_backend(handle.backend).version
    adjustments = [str(a) for a in handle.state.get("adjustments", [])]
    reproducible = "seed" in entry.capabilities and not any("not reproducible" in a for a in adjustments)
    provenance = Provenance(
        backend=handle.backend,
        backend_model=entry.backend_model,
        backend_job_id=handle.backend_job_id,
        final_prompt=str(handle.state.get("final_prompt") or compose_prompt(job.spec)),
        seed=job.spec.seed if reproducible else None,
        renderer_version=str(version),
        reproducible=reproducible,
        adjustments=adjustments,
        catalog_version=entry.catalog_version or None,
        scene=handle.state.get("scene") or None,
    )
    now = now_iso()
    try:  # the transition and the charge/refund commit together: settled exactly once
        job = services.billing.finish_job(
            job,
            to=JobStatus.COMPLETED,
            allowed_from=(JobStatus.PROCESSING,),
            now=now,
            changes={
                "variations": stored,
                "credits": credits,
                "provenance": provenance,
                **({"settled_by": run_id} if run_id else {}),
                **nothing_to_purge(job, now),
            },
        )
    except StaleJobError as exc:
        if exc.current and exc.current.status == JobStatus.COMPLETED:
            ended = job_ended(services, exc.current)
            return _settled(services, _event(ended), ended, run_id)
        if exc.current and exc.current.status.is_terminal:  # canceled after its last store: unbilled
            discard_job_images(services, exc.current)
        raise JobNotRunnableError(f"job {job_id} changed state while completing") from exc
    logger.info("job completed", extra={"job_id": job_id, "variations_completed": completed})
    ended = job_ended(services, job)
    return _settled(services, _event(ended), ended, run_id)


def mark_failed(
    services: Services, *, tenant_id: str, job_id: str, error: dict[str, Any], run_id: str | None = None
) -> dict[str, Any]:
    """MarkFailed: queued|processing -> failed with a stable error code; refund everything reserved.

    Running it twice changes nothing the second time (the transition is conditional).
    """
    error_name = str(error.get("Error", "States.TaskFailed"))
    job_error = JobError(
        code=error_code_for(error_name), message=failure_message(error_name, error.get("Cause"))
    )
    job = services.jobs.get(tenant_id, job_id, consistent=True)
    if job is None:  # nothing to mark (e.g. a forged queue message): say so on the bus, do not retry
        logger.warning("mark_failed for a job that does not exist", extra={"job_id": job_id})
        missing = {
            "version": EVENT_VERSION,
            "job_id": job_id,
            "tenant_id": tenant_id,
            "status": "missing",
            "error": job_error.model_dump(),
        }
        return missing if run_id is None else {"event": missing, "publish": False}
    if job.status.is_terminal:
        ended = job_ended(services, job)
        if job.status == JobStatus.COMPLETED and run_id is not None:
            # Completed (by this run, if a settling step failed or timed out after its write): never a
            # "failed" event for it.
            return {"event": _event(ended), "publish": False}
        return _settled(services, _event(ended), ended, run_id)
    deadline_passed = job_error.code == DeadlineExceededError.code
    ending = JobStatus.CANCELED if deadline_passed else JobStatus.FAILED
    variations = unbilled_variations(job, job_error.code)  # refunded in full: it keeps no image
    credits = job.credits.model_copy(update={"charged": 0, "refunded": job.credits.reserved})
    now = now_iso()
    try:  # the transition and the refund commit together: a second run refunds nothing
        job = services.billing.finish_job(
            job,
            to=ending,
            allowed_from=(JobStatus.QUEUED, JobStatus.PROCESSING),
            now=now,
            changes={
                "error": job_error,
                "credits": credits,
                "variations": variations,
                **({"settled_by": run_id} if run_id else {}),
                **nothing_to_purge(job, now),
            },
        )
    except StaleJobError as exc:
        if exc.current is None:
            raise StorageError(f"job {job_id} vanished") from exc
        ended = job_ended(services, exc.current)
        return _settled(services, _event(ended), ended, run_id)
    logger.info(f"job {ending.value}", extra={"job_id": job_id, "error_code": job_error.code})
    discard_job_images(services, job)  # whatever was stored before it failed or passed its deadline
    if deadline_passed and services.events is not None:
        # Not the workflow's "failed" event: the canceled one, published here like an API cancel
        # (only by the run whose conditional write settled the job).
        try:
            services.events.put(detail_type_for(job.status.value), job_event_detail(job))
        except StorageError:
            logger.exception("could not publish the canceled event", extra={"job_id": job_id})
    ended = job_ended(services, job)
    return _settled(services, _event(ended), ended, run_id)
